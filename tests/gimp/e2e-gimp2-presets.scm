; Headless test of Apply Preset in GIMP 2.10 (Script-Fu), driven by gimp2-e2e.sh after
; copying tests/gimp/presets/*.json into the profile's diffusion/presets folder:
;   (gd-presets-e2e "WORKDIR" "MODEL" "VOCAB")
; Runs plug-in-diffusion-apply-preset by name on a selection of in.png and saves each new
; layer's "gimp-diffusion-params" parasite as CASE-parasite.json for check_presets.py.
; A name that is no preset must fail (gimp2-e2e.sh finds the message in GIMP's log).
; The marker file says "OK" only if every step passed.

(define (gd-preset-case dir case preset subject model vocab seed)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (let* ((res (plug-in-diffusion-apply-preset RUN-NONINTERACTIVE img src
                  preset subject "auto" model vocab))
           (layer (car res))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-assert (= (car (gimp-image-get-layers img)) 2) "Apply Preset: exactly one new layer")
      (gd-assert (= (vector-ref (cadr (gimp-image-get-layers img)) 0) layer)
                 "Apply Preset: the new layer is on top")
      (gd-assert (= (cadr res) seed) "Apply Preset: the preset's seed is returned")
      (let ((p (open-output-file (string-append dir "/" case "-parasite.json"))))
        (display (caddr para) p) (close-output-port p)))
    (gimp-image-delete img)))

(define (gd-presets-e2e dir model vocab)
  (gd-mark dir "FAIL")
  ; the user's "Fast draft" overrides the shipped one; names match in any case
  (gd-preset-case dir "preset-draft" "fast draft" "a heron" model vocab 4321)
  (gd-preset-case dir "preset-fill" "Test clean fill" "grass" model vocab 99)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gd-assert (string=? "caught"
                 (catch "caught"
                   (plug-in-diffusion-apply-preset RUN-NONINTERACTIVE img src
                     "No such preset" "x" "auto" model vocab)
                   "no error"))
               "an unknown preset name is refused")
    (gd-assert (= (car (gimp-image-get-layers img)) 1) "no layer after an unknown preset")
    (gimp-image-delete img))
  (gd-mark dir "OK"))
