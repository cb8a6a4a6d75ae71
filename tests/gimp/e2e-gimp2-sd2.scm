; The tiny SD 2.x models through the GIMP 2.10 plug-in (Script-Fu 2.10), driven by
; gimp2-e2e.sh when the model is ../golden-sd2's tiny-sd2 (issue 14):
;   (gd-sd2-e2e "WORKDIR" "MODEL_DIR" "VOCAB")
; Each job selects 96 x 64 at (40,30) in sd2-in.png (pure colours: make_input.py says why):
; with 16 px of padding the region is 128 x 96 at (24,14), exactly the working size of
; work-size 128, so the plug-in scales nothing and check_sd2.py can compare its layer with
; `diffuse` run on the same crop.
; Jobs (sd2-NAME-{selection,layer,source,out}.png and sd2-NAME-parasite.json):
;   img2img  tiny-sd2, img2img, rectangle
;   inpaint  tiny-sd2-inpaint (9-channel U-Net), inpaint, ellipse
;   v        tiny-sd2-v, img2img, prediction "auto" (the file says v)
;   turbo-txt2img  tiny-sd2, txt2img, euler_a, trailing, 1 step, CFG 0
;   turbo-img2img  tiny-sd2, img2img, euler_a, trailing, 2 steps x strength 0.5 = 1 step, CFG 0
; and 1 step x strength 0.5 (no step to run) refused, the image left alone. The settings
; here are those check_sd2.py expects in each parasite.
; Uses gd-mark, gd-assert and gd-save of e2e-gimp2.scm (loaded before).

; Region of every job: selection (40,30) 96 x 64 grown by the padding.
(define gd-sd2-padding 16)
(define gd-sd2-work 128)

; The ellipse without antialiasing: the plug-in reads the selection as linear "Y float", a PNG
; of it holds the stored 8-bit values, and the 9-channel U-Net sees the mask everywhere, so a
; CLI mask equal to the plug-in's needs a selection of 0 and 1 only.
(define (gd-sd2-open dir shape)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/sd2-in.png") "sd2-in.png"))))
    (gimp-context-push)
    (gimp-context-set-antialias FALSE)
    (if (string=? shape "ellipse")
        (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 40 30 96 64)
        (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 96 64))
    (gimp-context-pop)
    img))

; the selection as a grey PNG of the whole image (what "outside" is, and the CLI's mask)
(define (gd-sd2-save-selection img path)
  (let* ((sel-img (car (gimp-image-new 200 150 GRAY)))
         (sel-l (car (gimp-layer-new sel-img 200 150 GRAY-IMAGE "sel" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer sel-img sel-l 0 0)
    (gimp-edit-copy (car (gimp-image-get-selection img)))
    (gimp-floating-sel-anchor (car (gimp-edit-paste sel-l FALSE)))
    (gd-save sel-img sel-l path)
    (gimp-image-delete sel-img)))

; Arguments a newer plug-in has after those the calls below give (added at the end of the
; argument table), by name, with their defaults: the calls run unchanged on either.
(define gd-sd2-later-args
  '(("precision" . "auto") ("clip-skip" . 1) ("masked-content" . "original")
    ("rng" . "torch") ("vae-tile" . "auto")))

; (proc name args...): the procedure called with ARGS and, for each argument it has beyond
; them, its value from gd-sd2-later-args (an argument not there is an error naming it).
(define (gd-sd2-call proc name args)
  (let loop ((i (length args)) (tail '()))
    (if (< i (list-ref (gimp-procedural-db-proc-info name) 6))
        (let* ((arg (cadr (gimp-procedural-db-proc-arg name i)))
               (known (assoc arg gd-sd2-later-args)))
          (gd-assert known (string-append name ": no value for its argument " arg))
          (loop (+ i 1) (append tail (list (cdr known)))))
        (apply proc (append args tail)))))

(define (gd-sd2-img2img . args)
  (gd-sd2-call plug-in-diffusion-img2img "plug-in-diffusion-img2img" args))
(define (gd-sd2-inpaint . args)
  (gd-sd2-call plug-in-diffusion-inpaint "plug-in-diffusion-inpaint" args))
(define (gd-sd2-txt2img . args)
  (gd-sd2-call plug-in-diffusion-txt2img "plug-in-diffusion-txt2img" args))

; One job: (run img layer) calls the procedure and returns its result list.
(define (gd-sd2-job dir name shape seed run)
  (let* ((img (gd-sd2-open dir shape))
         (src (car (gimp-image-get-active-layer img)))
         (pre (string-append dir "/sd2-" name "-")))
    (gd-sd2-save-selection img (string-append pre "selection.png"))
    (let* ((res (run img src))
           (layer (car res))
           (layers (gimp-image-get-layers img))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-assert (= (car layers) 2) (string-append name ": exactly one new layer"))
      (gd-assert (= (vector-ref (cadr layers) 0) layer) (string-append name ": new layer on top"))
      (gd-assert (= (vector-ref (cadr layers) 1) src) (string-append name ": source layer kept"))
      (gd-assert (equal? (gimp-drawable-offsets layer) '(24 14)) (string-append name ": offsets"))
      (gd-assert (= (car (gimp-drawable-width layer)) 128) (string-append name ": width"))
      (gd-assert (= (car (gimp-drawable-height layer)) 96) (string-append name ": height"))
      (gd-assert (= (cadr res) seed) (string-append name ": fixed seed returned"))
      (gd-assert (string=? (car para) "gimp-diffusion-params") (string-append name ": parasite"))
      (let ((p (open-output-file (string-append pre "parasite.json"))))
        (display (caddr para) p) (close-output-port p))
      (gd-save img layer (string-append pre "layer.png"))
      (gd-save img src (string-append pre "source.png"))
      (gimp-selection-none img)
      (gd-save img (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))
               (string-append pre "out.png"))
      (gimp-image-delete img))))

(define (gd-sd2-e2e dir models vocab)
  (let ((sd2 (string-append models "/tiny-sd2.safetensors"))
        (sd2-v (string-append models "/tiny-sd2-v.safetensors"))
        (sd2-inpaint (string-append models "/tiny-sd2-inpaint.safetensors"))
        (pad gd-sd2-padding) (work gd-sd2-work))
    (gd-mark dir "FAIL")
    (gd-sd2-job dir "img2img" "rectangle" 42
      (lambda (img src)
        (gd-sd2-img2img RUN-NONINTERACTIVE img src "a red barn in a field" "" 0.6 4 7.5
          "euler_a" 42 FALSE work pad 4.0 FALSE sd2 vocab "leading" "auto" "" FALSE)))
    (gd-sd2-job dir "inpaint" "ellipse" 7
      (lambda (img src)
        (gd-sd2-inpaint RUN-NONINTERACTIVE img src "a blue lake" "blurry" 1.0 4 7.5
          "ddim" 7 FALSE work pad 4.0 FALSE sd2-inpaint vocab "leading" "auto" "" FALSE)))
    (gd-sd2-job dir "v" "rectangle" 11
      (lambda (img src)
        (gd-sd2-img2img RUN-NONINTERACTIVE img src "a lighthouse on a cliff" "" 0.75 4 7.5
          "euler" 11 FALSE work pad 4.0 FALSE sd2-v vocab "leading" "auto" "" FALSE)))
    (gd-sd2-job dir "turbo-txt2img" "rectangle" 5
      (lambda (img src)
        (gd-sd2-txt2img RUN-NONINTERACTIVE img src "a cinematic photo of a red panda" ""
          1 0.0 "euler_a" 5 FALSE work pad 4.0 FALSE sd2 vocab "trailing" "auto" "" FALSE)))
    (gd-sd2-job dir "turbo-img2img" "rectangle" 9
      (lambda (img src)
        (gd-sd2-img2img RUN-NONINTERACTIVE img src "a cinematic photo of a red panda" ""
          0.5 2 0.0 "euler_a" 9 FALSE work pad 4.0 FALSE sd2 vocab "trailing" "auto" "" FALSE)))
    ; 1 step x strength 0.5 leaves no step: refused (gimp2-e2e.sh finds the reason in the log)
    (let* ((img (gd-sd2-open dir "rectangle"))
           (src (car (gimp-image-get-active-layer img))))
      (gd-assert (string=? "caught"
                   (catch "caught"
                     (gd-sd2-img2img RUN-NONINTERACTIVE img src "x" "" 0.5 1 0.0
                       "euler_a" 9 FALSE work pad 4.0 FALSE sd2 vocab "trailing" "auto" "" FALSE)
                     "no error"))
                 "turbo: 1 step x strength 0.5 accepted")
      (gd-assert (= (car (gimp-image-get-layers img)) 1) "no layer after the refused turbo job")
      (gimp-image-delete img))
    (gd-mark dir "OK")))
