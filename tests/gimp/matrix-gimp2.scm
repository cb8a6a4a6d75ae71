; Bad-input matrix of the GIMP 2.10 plug-in (Script-Fu 2.10), driven by gimp2-matrix.sh:
;   (gd-matrix "WORKDIR" "MODEL" "VOCAB" "BADDIR")
; Each case builds an image, saves it as NAME-before.xcf, runs the plug-in, and writes one
; line to WORKDIR/results: "NAME layer WxH+X+Y PARENT" when a layer came back (the layer is
; then removed again) or "NAME error" when the call failed. Then the image is saved as
; NAME-after.xcf: gimp2-matrix.sh compares the two files byte for byte (a failed run must
; leave the image exactly as it was; a successful one must have added nothing but the
; layer) and finds each failure's message in GIMP's log after the "MATRIX-CASE NAME" line.
; gimp-console-2.10 always exits 0: the marker file says "OK" only if the batch finished.

(define gd-results #f)

(define (gd-mark dir s)
  (let ((p (open-output-file (string-append dir "/marker"))))
    (display s p) (close-output-port p)))

(define (gd-xcf img path)
  (gimp-xcf-save 0 img (car (gimp-image-get-active-drawable img)) path path))

(define (gd-load dir)
  (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))

(define (gd-img2img img drw model vocab)
  (plug-in-diffusion-img2img RUN-NONINTERACTIVE img drw
    "a red barn" "" 0.6 2 7.5 "euler" 42 FALSE 64 16 4.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))

; Runs (run img drw) on img and records the outcome; the image is saved before and after.
(define (gd-case dir name img drw run)
  (gimp-message (string-append "MATRIX-CASE " name))
  (gd-xcf img (string-append dir "/" name "-before.xcf"))
  (let ((r (catch #f (run img drw))))
    (if (pair? r)
        (let* ((layer (car r))
               (off (gimp-drawable-offsets layer))
               (parent (car (gimp-item-get-parent layer))))
          (display (string-append name " layer "
                                  (number->string (car (gimp-drawable-width layer))) "x"
                                  (number->string (car (gimp-drawable-height layer))) "+"
                                  (number->string (car off)) "+" (number->string (cadr off))
                                  (if (= parent -1) " top" " in-group") "\n") gd-results)
          (gimp-image-remove-layer img layer)
          (gimp-image-set-active-layer img drw))
        (display (string-append name " error\n") gd-results)))
  (gd-xcf img (string-append dir "/" name "-after.xcf"))
  (gimp-image-delete img))

(define (gd-matrix dir model vocab bad)
  (gd-mark dir "FAIL")
  (set! gd-results (open-output-file (string-append dir "/results")))
  (let ((run (lambda (img drw) (gd-img2img img drw model vocab)))
        (with-model (lambda (m) (lambda (img drw) (gd-img2img img drw m vocab)))))

    ; no selection: the whole layer
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gd-case dir "no-selection" img drw run))

    ; a selection outside the layer (the layer has offsets and does not cover it)
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-layer-resize drw 60 50 -100 -60)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 10 40 30)
      (gd-case dir "empty-selection-outside-layer" img drw run))

    ; two rectangles on either side of a narrow layer: the bounding box covers the layer,
    ; the selection holds none of its pixels
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-layer-resize drw 40 150 -80 0)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 40 30 30)
      (gimp-image-select-rectangle img CHANNEL-OP-ADD 150 40 30 30)
      (gd-case dir "empty-selection-on-layer" img drw run))

    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 70 1 1)
      (gd-case dir "selection-1x1" img drw
               (lambda (img drw)
                 (plug-in-diffusion-img2img RUN-NONINTERACTIVE img drw
                   "x" "" 0.6 2 7.5 "euler" 42 FALSE 64 0 4.0 FALSE model vocab "leading" "auto" "" FALSE "auto" 1 "torch" "auto"))))

    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 100 70 7 7)
      (gd-case dir "selection-7x7" img drw run))

    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 170 0 30 20)
      (gd-case dir "selection-on-border" img drw run))

    ; 16-bit linear and 32-bit float images
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-convert-precision img PRECISION-U16-LINEAR)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
      (gd-case dir "16-bit" img drw run))
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-convert-precision img PRECISION-FLOAT-LINEAR)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
      (gd-case dir "float-32" img drw run))

    ; indexed: refused (gimp2-e2e checks the message; here the image must be untouched)
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-image-convert-indexed img CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 64 FALSE FALSE "")
      (gd-case dir "indexed" img drw run))

    ; a layer with offsets: the region is clamped to it
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gimp-layer-resize drw 100 80 -50 -40)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 60 50 30 20)
      (gd-case dir "layer-offsets" img drw run))

    ; a layer inside a layer group: the result goes into the group
    (let* ((img (gd-load dir)) (base (car (gimp-image-get-active-layer img)))
           (group (car (gimp-layer-group-new img)))
           (drw (car (gimp-layer-copy base TRUE))))
      (gimp-image-insert-layer img group 0 0)
      (gimp-image-insert-layer img drw group 0)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
      (gd-case dir "layer-in-group" img drw run))

    ; the layer group itself: its projection is read, the result goes above the group
    (let* ((img (gd-load dir)) (base (car (gimp-image-get-active-layer img)))
           (group (car (gimp-layer-group-new img))))
      (gimp-image-insert-layer img group 0 0)
      (gimp-image-reorder-item img base group 0)
      (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
      (gd-case dir "layer-group" img group run))

    ; a text layer (its text must stay text: nothing is written to it)
    (gimp-fonts-refresh)    ; batch mode may run before the fonts are loaded
    (let* ((img (gd-load dir))
           (drw (car (gimp-text-fontname img -1 20 40 "Diffusion" 0 TRUE 30 PIXELS "Sans"))))
      (gd-case dir "text-layer" img drw run))

    ; models and vocabulary
    (for-each
      (lambda (m)
        (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
          (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
          (gd-case dir (string-append "model-" m) img drw
                   (with-model (string-append bad "/" m ".safetensors")))))
      '("sd2" "sdxl" "truncated" "nan"))
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gd-case dir "missing-vocab" img drw
               (lambda (img drw)
                 (gd-img2img img drw model (string-append bad "/no-such-vocab")))))
    (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
      (gd-case dir "empty-vocab" img drw
               (lambda (img drw)
                 (gd-img2img img drw model (string-append bad "/empty-vocab")))))

    ; 16384 x 16384: refused with the size it needs, or processed; never killed
    (let* ((img (car (gimp-image-new 16384 16384 RGB)))
           (drw (car (gimp-layer-new img 16384 16384 RGB-IMAGE "big" 100 LAYER-MODE-NORMAL))))
      (gimp-image-insert-layer img drw 0 0)
      (gimp-drawable-fill drw FILL-WHITE)
      (gd-case dir "16k" img drw run)))

  (close-output-port gd-results)
  (gd-mark dir "OK"))

; Kill safety, run once per phase by gimp2-matrix.sh, which stops the plug-in in that
; phase (gdb breakpoint) and SIGKILLs it: the call fails and the image must be untouched.
(define (gd-kill dir model vocab phase)
  (gd-mark dir "FAIL")
  (set! gd-results (open-output-file (string-append dir "/results-kill-" phase)))
  (let* ((img (gd-load dir)) (drw (car (gimp-image-get-active-layer img))))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (gd-case dir (string-append "kill-" phase) img drw
             (lambda (img drw) (gd-img2img img drw model vocab))))
  (close-output-port gd-results)
  (gd-mark dir "OK"))
