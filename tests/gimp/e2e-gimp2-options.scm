; The engine's newer options through the GIMP 2.10 plug-in (Script-Fu 2.10), driven by
; gimp2-e2e.sh: (gd-options-e2e "WORKDIR" "MODEL" "VOCAB" "LORA_FILE")
; The same img2img run (region, seed, 2 steps) as a baseline, with a LoRA from the loras
; argument, with <lora:NAME:0.8> in the prompt (the config's lora_dir finds it), with
; trailing timestep spacing, with the draft VAE (the config's taesd), with precision fp32,
; clip skip 2, the philox noise and VAE tiles off; and an inpaint run with masked content
; original and fill: each layer (opt-CASE.png) and parasite (opt-CASE.json) for
; check_options.py.

(define (gd-options-save dir name img layer)
  (let* ((para (car (gimp-item-get-parasite layer "gimp-diffusion-params")))
         (p (open-output-file (string-append dir "/opt-" name ".json"))))
    (display (caddr para) p) (close-output-port p)
    (gd-save img layer (string-append dir "/opt-" name ".png"))))

(define (gd-options-image dir)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png"))))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    img))

(define (gd-options-run dir model vocab name prompt spacing loras draft precision clip rng tile)
  (let* ((img (gd-options-image dir))
         (src (car (gimp-image-get-active-layer img)))
         (layer (car (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                       prompt "" 0.6 2 7.5 "euler" 42 FALSE 64 16 4.0 FALSE model vocab
                       spacing "auto" loras draft precision clip rng tile))))
    (gd-options-save dir name img layer)
    (gimp-image-delete img)))

(define (gd-options-inpaint dir model vocab name masked)
  (let* ((img (gd-options-image dir))
         (src (car (gimp-image-get-active-layer img)))
         (layer (car (plug-in-diffusion-inpaint RUN-NONINTERACTIVE img src
                       "a blue lake" "" 0.6 2 7.5 "euler" 42 FALSE 64 16 4.0 FALSE model vocab
                       "leading" "auto" "" FALSE "auto" 1 masked "torch" "auto"))))
    (gd-options-save dir name img layer)
    (gimp-image-delete img)))

(define (gd-options-e2e dir model vocab lora)
  (define (run name prompt spacing loras draft precision clip rng tile)
    (gd-options-run dir model vocab name prompt spacing loras draft precision clip rng tile))
  (gd-mark dir "FAIL")
  (run "base" "a red barn" "leading" "" FALSE "auto" 1 "torch" "auto")
  (run "lora-arg" "a red barn" "leading" (string-append lora ":0.8") FALSE "auto" 1 "torch" "auto")
  (run "lora-prompt" "a red barn <lora:lora_a_kohya:0.8>" "leading" "" FALSE "auto" 1 "torch" "auto")
  (run "trailing" "a red barn" "trailing" "" FALSE "auto" 1 "torch" "auto")
  (run "draft" "a red barn" "leading" "" TRUE "auto" 1 "torch" "auto")
  (run "fp32" "a red barn" "leading" "" FALSE "fp32" 1 "torch" "auto")
  (run "clip-skip" "a red barn" "leading" "" FALSE "auto" 2 "torch" "auto")
  (run "philox" "a red barn" "leading" "" FALSE "auto" 1 "philox" "auto")
  (run "tile-off" "a red barn" "leading" "" FALSE "auto" 1 "torch" "off")
  (gd-options-inpaint dir model vocab "inpaint" "original")
  (gd-options-inpaint dir model vocab "fill" "fill")
  (gd-mark dir "OK"))
