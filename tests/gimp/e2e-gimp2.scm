; Headless end-to-end test of the GIMP 2.10 plug-in (Script-Fu 2.10), driven by gimp2-e2e.sh:
;   (gd-e2e "WORKDIR" "MODEL" "VOCAB")
; in.png (make_input.py) is the input picture. For img2img (rectangle selection)
; and inpaint (ellipse selection) it loads in.png, runs the procedure and checks what GIMP
; itself can tell (layer count, stacking, offsets, size, parasite); the pixels are
; checked afterwards by check_e2e.py on the exported PNGs.
; gimp-console-2.10 always exits 0: the marker file says "OK" only if every step passed.

(define (gd-mark dir s)
  (let ((p (open-output-file (string-append dir "/marker"))))
    (display s p) (close-output-port p)))

(define (gd-assert ok what)
  (if (not ok) (error (string-append "ASSERT: " what))))

; PNG without the time chunk, keeping the colour of transparent pixels (svtrans = 1)
(define (gd-save img drw path)
  (file-png-save2 RUN-NONINTERACTIVE img drw path path 0 9 0 0 0 0 0 0 1))

(define (gd-run dir mode model vocab)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img)))
         (pre (string-append dir "/" mode "-")))
    (if (string=? mode "img2img")
        (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
        (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 40 30 80 60))
    ; the selection as a grey PNG: check_e2e.py needs to know what "outside" is
    (let* ((sel-img (car (gimp-image-new 200 150 GRAY)))
           (sel-l (car (gimp-layer-new sel-img 200 150 GRAY-IMAGE "sel" 100 LAYER-MODE-NORMAL))))
      (gimp-image-insert-layer sel-img sel-l 0 0)
      (gimp-edit-copy (car (gimp-image-get-selection img)))
      (gimp-floating-sel-anchor (car (gimp-edit-paste sel-l FALSE)))
      (gd-save sel-img sel-l (string-append pre "selection.png"))
      (gimp-image-delete sel-img))
    (let* ((res (if (string=? mode "img2img")
                    (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                      "a red barn in a field" "" 0.6 4 7.5 "euler_a" 42 FALSE 128 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto")
                    (plug-in-diffusion-inpaint RUN-NONINTERACTIVE img src
                      "a blue lake" "blurry" 1.0 4 7.5 "ddim" 7 FALSE 128 16 4.0 TRUE model vocab "leading" "auto" "" FALSE "auto" 1 "original" "torch" "auto")))
           (layer (car res))
           (seed (cadr res))
           (layers (gimp-image-get-layers img))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-assert (= (car layers) 2) "exactly one new layer")
      (gd-assert (= (vector-ref (cadr layers) 0) layer) "the new layer is above the source")
      (gd-assert (= (vector-ref (cadr layers) 1) src) "the source layer is still there")
      (gd-assert (equal? (gimp-drawable-offsets layer) '(24 14)) "offsets = selection - padding")
      (gd-assert (= (car (gimp-drawable-width layer)) 112) "width = selection + 2 x padding")
      (gd-assert (= (car (gimp-drawable-height layer)) 92) "height = selection + 2 x padding")
      (gd-assert (= (car (gimp-drawable-has-alpha layer)) TRUE) "the new layer has alpha")
      (gd-assert (string=? (car para) "gimp-diffusion-params") "parameters parasite attached")
      (gd-assert (= seed (if (string=? mode "img2img") 42 7)) "fixed seed returned")
      (let ((p (open-output-file (string-append pre "parasite.json"))))
        (display (caddr para) p) (close-output-port p))
      (gd-save img layer (string-append pre "layer.png"))
      (gd-save img src (string-append pre "source.png"))
      (gimp-selection-none img)
      (gd-save img (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))
               (string-append pre "out.png"))
      (gimp-image-delete img))))

;  A missing model and a file that is not a checkpoint: errors, and the image is left
;  alone. (catch) hides the message; gimp2-e2e.sh finds it in GIMP's log.
(define (gd-error-case dir vocab)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (for-each
      (lambda (bad)
        (gd-assert (string=? "caught"
                     (catch "caught"
                       (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                         "x" "" 0.5 2 7.5 "euler" 1 FALSE 64 0 0.0 FALSE bad vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto")
                       "no error"))
                   (string-append bad " accepted as a model"))
        (gd-assert (= (car (gimp-image-get-layers img)) 1) "no layer after a failed run"))
      (list "/nonexistent/model.safetensors" (string-append dir "/in.png")))
    (gimp-image-delete img)))

; txt2img without a selection covers the layer; a grayscale image gets a grayscale layer
; (exports gray-in.png / gray-out.png for the pixel check); an indexed image is refused.
(define (gd-modes-case dir model vocab)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img)))
         (layer (car (plug-in-diffusion-txt2img RUN-NONINTERACTIVE img src
                       "a castle" "" 2 7.5 "euler" 3 FALSE 64 0 0.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))))
    (gd-assert (equal? (gimp-drawable-offsets layer) '(0 0)) "txt2img: whole layer")
    (gd-assert (= (car (gimp-drawable-width layer)) 200) "txt2img: layer width")
    (gd-assert (string=? (car (gimp-item-get-name layer)) "a castle") "txt2img: named after the prompt")
    (gimp-image-delete img))
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-image-convert-grayscale img)
    (gd-save img src (string-append dir "/gray-in.png"))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (let ((layer (car (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                        "x" "" 0.5 2 7.5 "euler" 5 FALSE 64 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))))
      (gd-assert (= (car (gimp-drawable-is-gray layer)) TRUE) "grayscale image: grayscale layer"))
    (gimp-selection-none img)
    (gd-save img (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE)) (string-append dir "/gray-out.png"))
    (gimp-image-delete img))
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-image-convert-indexed img CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 64 FALSE FALSE "")
    (gd-assert (string=? "caught"
                 (catch "caught"
                   (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                     "x" "" 0.5 2 7.5 "euler" 1 FALSE 64 0 0.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto")
                   "no error"))
               "indexed image refused")
    (gd-assert (= (car (gimp-image-get-layers img)) 1) "no layer on an indexed image")
    (gimp-image-delete img)))

(define (gd-e2e dir model vocab)
  (gd-mark dir "FAIL")
  (gd-run dir "img2img" model vocab)
  (gd-run dir "inpaint" model vocab)
  (gd-error-case dir vocab)
  (gd-modes-case dir model vocab)
  (gd-mark dir "OK"))

; The plug-in is killed mid-run by gimp2-e2e.sh (as GIMP does when the user cancels):
; the call fails, and the image must be exactly as loaded: one layer, same pixels.
(define (gd-kill-case dir model vocab)
  (gd-mark dir "FAIL")
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img)))
         (r (catch "killed"
              (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
              (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                "slow" "" 0.9 150 7.5 "euler" 1 FALSE 1024 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto")
              "finished")))
    (gd-assert (string=? r "killed") "the plug-in was killed before it finished")
    (gd-assert (= (car (gimp-image-get-layers img)) 1) "no layer after a killed run")
    (gimp-selection-none img)
    (gd-save img (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))
             (string-append dir "/killed-out.png"))
    (gimp-image-delete img))
  (gd-mark dir "OK"))
