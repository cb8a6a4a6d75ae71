; GUI test of the live preview window (GIMP 2.10), driven by gimp2-gui-preview.sh under Xvfb:
;   (gd-gui-preview "WORKDIR" "MODEL" "VOCAB")
; 1. a non-interactive run on a scratch image sets the procedure's last values: a long run
;    (many steps at a large working size);
; 2. the real image gets a display and a selection, is saved as preview-before.xcf, and the
;    procedure runs RUN-INTERACTIVE: the shell clicks OK, screenshots the preview window
;    mid-run and clicks its Cancel;
; 3. the run must return no values (Script-Fu's answer to a cancelled procedure), add no
;    layer and leave a clean image, saved as preview-after.xcf for the shell to compare byte for byte.
; Progress goes through marker files (a GUI has no stdout to read).

(define (gd-write dir name s)
  (let ((p (open-output-file (string-append dir "/" name)))) (display s p) (close-output-port p)))
(define (gd-mark dir s) (gd-write dir "marker" s))

(define (gd-gui-preview dir model vocab)
  (gd-mark dir "FAIL")
  (let* ((scratch (car (gimp-image-new 8 8 RGB)))
         (sl (car (gimp-layer-new scratch 8 8 RGB-IMAGE "s" 100 LAYER-MODE-NORMAL))))
    (gimp-image-insert-layer scratch sl 0 0)
    ; its own run takes as long as the dialog's will (~20-30 s in fp32 at 256 px): 2.10 keeps last values only
    ; through a run in this session
    (plug-in-diffusion-img2img RUN-NONINTERACTIVE scratch sl
      "a red barn in a field" "" 1.0 150 7.5 "euler_a" 42 FALSE 256 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "fp32" 1 "torch" "auto")
    (gimp-image-delete scratch))
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img)))
         (before (string-append dir "/preview-before.xcf"))
         (after (string-append dir "/preview-after.xcf")))
    (gimp-display-new img)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (gimp-xcf-save 0 img src before before)
    (gimp-image-clean-all img)
    (gd-mark dir "STARTED")
    ; a success returns (layer seed); a cancelled run no layer (Script-Fu 2.10 gives (#f),
    ; kept in returned.txt); a failed one raises an error (#f here)
    (let ((ran (catch #f
                 (plug-in-diffusion-img2img RUN-INTERACTIVE img src
                   "" "" 0.5 1 1.0 "ddim" 0 TRUE 64 0 0.0 FALSE "" "" "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))))
      (let ((p (open-output-file (string-append dir "/returned.txt")))) (write ran p) (close-output-port p))
      (gd-write dir "status.txt"
                (string-append (cond ((not ran) "error")
                                     ((and (pair? ran) (number? (car ran))) "success")
                                     (else "cancel"))
                               " layers=" (number->string (car (gimp-image-get-layers img)))
                               " dirty=" (if (= (car (gimp-image-is-dirty img)) 0) "False" "True")
                               "\n"))
      (gimp-xcf-save 0 img src after after)
      (gimp-image-clean-all img)
      (gd-mark dir "RAN"))))
