; GUI test of the GIMP 2.10 plug-in, driven by gimp2-gui.sh under Xvfb:
;   (gd-gui "WORKDIR" "MODEL" "VOCAB" "LORA")
; 1. a non-interactive run on a scratch image sets the procedure's last values; with a
;    LORA file ("" for none) they then also fill the dialog's first LoRA chooser (no PDB
;    argument: the last values are set as the plug-in keeps them, JSON by gimp_set_data);
; 2. the real image gets a display, a selection, and the procedure RUN-INTERACTIVE: the
;    dialog shows those last values, the shell screenshots it and clicks OK;
; 3. the shell presses Ctrl+Z in the image window: the new layer must be gone and the
;    image as loaded. Progress goes through marker files (a GUI has no stdout to read).

(define (gd-write dir name s)
  (let ((p (open-output-file (string-append dir "/" name)))) (display s p) (close-output-port p)))
(define (gd-mark dir s) (gd-write dir "marker" s))
(define (gd-assert ok what)
  (if (not ok) (error (string-append "ASSERT: " what))))
(define (gd-save img drw path)
  (file-png-save2 RUN-NONINTERACTIVE img drw path path 0 9 0 0 0 0 0 0 1))

; Script-Fu 2.10 cannot sleep: poll with a cheap PDB call (each is a round trip to GIMP)
(define (gd-wait-file path n)
  (cond ((> (car (file-glob path 0)) 0) #t)
        ((= n 0) #f)
        (else (gd-wait-file path (- n 1)))))

; GIMP 2.10 keeps a procedure's last values as the JSON of gd_params_values_json
(define (gd-set-last-values proc json)
  (gimp-procedural-db-set-data proc (+ 1 (string-length json))
    (list->vector (append (map char->integer (string->list json)) '(0)))))

(define (gd-gui dir model vocab lora)
  (gd-mark dir "FAIL")
  (let* ((scratch (car (gimp-image-new 64 64 RGB)))
         (sl (car (gimp-layer-new scratch 64 64 RGB-IMAGE "s" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer scratch sl 0 0)
    (plug-in-diffusion-img2img RUN-NONINTERACTIVE scratch sl
      "a red barn in a field" "" 0.6 4 7.5 "euler_a" 42 FALSE 128 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "fp32" 2 "torch" "auto")
    (gimp-image-delete scratch))
  (if (not (string=? lora ""))
      (gd-set-last-values "plug-in-diffusion-img2img"
        (string-append "{\"prompt\":\"a red barn in a field\",\"negative-prompt\":\"\","
                       "\"strength\":0.6,\"steps\":4,\"cfg-scale\":7.5,\"sampler\":\"euler_a\","
                       "\"seed\":42,\"random-seed\":0,\"work-size\":128,\"context-padding\":16,"
                       "\"feather\":4,\"color-match\":0,\"precision\":\"fp32\",\"clip-skip\":2,"
                       "\"lora-1\":\"" lora "\",\"lora-1-weight\":0.8}")))
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-display-new img)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (gimp-image-clean-all img)
    (let ((layer (car (plug-in-diffusion-img2img RUN-INTERACTIVE img src
                        "" "" 0.5 1 1.0 "ddim" 0 TRUE 64 0 0.0 FALSE "" "" "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))))
      (gd-write dir "layer-name.txt" (car (gimp-item-get-name layer)))
      (gd-write dir "gui-parasite.json"
                (caddr (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-assert (= (car (gimp-image-get-layers img)) 2) "one new layer after OK")
      (gimp-displays-flush)
      (gd-mark dir "RAN")
      (gd-assert (gd-wait-file (string-append dir "/undone") 3000000) "the shell pressed Ctrl+Z")
      (gd-assert (= (car (gimp-image-get-layers img)) 1) "Ctrl+Z removed the new layer")
      (gimp-selection-none img)
      (gd-save img (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))
               (string-append dir "/undone-out.png"))
      (gd-mark dir "OK"))))
