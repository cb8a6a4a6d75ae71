; GUI test of the preset row in GIMP 2.10, driven by gimp2-gui-presets.sh under Xvfb:
;   (gd-gui-presets "WORKDIR" "MODEL" "VOCAB")
; A non-interactive run leaves "a heron" as the last prompt; the procedure then runs
; RUN-INTERACTIVE on in.png while gui_drive_presets.sh picks a preset, saves the values as a
; preset and clicks OK; then Apply Preset runs RUN-INTERACTIVE from its last values and
; the shell clicks OK. The new layers' parasites go to gui-parasite.json and
; apply-parasite.json for check_gui_presets.py. Progress goes through marker files (a GUI has no stdout to read).

(define (gd-write dir name s)
  (let ((p (open-output-file (string-append dir "/" name)))) (display s p) (close-output-port p)))

(define (gd-gui-presets dir model vocab)
  (gd-write dir "marker" "FAIL")
  (let* ((scratch (car (gimp-image-new 64 64 RGB)))
         (sl (car (gimp-layer-new scratch 64 64 RGB-IMAGE "s" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer scratch sl 0 0)
    (plug-in-diffusion-img2img RUN-NONINTERACTIVE scratch sl
      "a heron" "" 0.6 2 7.5 "euler_a" 42 FALSE 64 16 4.0 FALSE "" "" "leading" "auto" "" FALSE "auto" 1 "torch" "auto")
    (gimp-image-delete scratch))
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-display-new img)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (let* ((layer (car (plug-in-diffusion-img2img RUN-INTERACTIVE img src
                         "" "" 0.5 1 1.0 "ddim" 0 TRUE 64 0 0.0 FALSE "" "" "leading" "auto" "" FALSE "auto" 1 "torch" "auto")))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-write dir "gui-parasite.json" (caddr para)))
    ; Apply Preset: a non-interactive run leaves its last values, the dialog shows them
    (plug-in-diffusion-apply-preset RUN-NONINTERACTIVE img src "Test clean fill" "grass" "auto" "" "")
    (let* ((layer (car (plug-in-diffusion-apply-preset RUN-INTERACTIVE img src "" "" "" "" "")))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params"))))
      (gd-write dir "apply-parasite.json" (caddr para)))
    (gimp-image-clean-all img)
    (gd-write dir "marker" "OK")))
