; The engine's newer options through the GIMP 2.10 plug-in (Script-Fu 2.10), driven by
; gimp2-e2e.sh: (gd-options-e2e "WORKDIR" "MODEL" "VOCAB" "LORA_FILE")
; The same img2img run (region, seed, 2 steps) as a baseline, with a LoRA from the loras
; argument, with <lora:NAME:0.8> in the prompt (the config's lora_dir finds it), with
; trailing timestep spacing and with the draft VAE (the config's taesd): each layer
; (opt-CASE.png) and parasite (opt-CASE.json) for check_options.py.

(define (gd-options-run dir model vocab name prompt spacing loras draft)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE (string-append dir "/in.png") "in.png")))
         (src (car (gimp-image-get-active-layer img))))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 40 30 80 60)
    (let* ((layer (car (plug-in-diffusion-img2img RUN-NONINTERACTIVE img src
                         prompt "" 0.6 2 7.5 "euler" 42 FALSE 64 16 4.0 FALSE model vocab
                         spacing "auto" loras draft)))
           (para (car (gimp-item-get-parasite layer "gimp-diffusion-params")))
           (p (open-output-file (string-append dir "/opt-" name ".json"))))
      (display (caddr para) p) (close-output-port p)
      (gd-save img layer (string-append dir "/opt-" name ".png")))
    (gimp-image-delete img)))

(define (gd-options-e2e dir model vocab lora)
  (gd-mark dir "FAIL")
  (gd-options-run dir model vocab "base" "a red barn" "leading" "" FALSE)
  (gd-options-run dir model vocab "lora-arg" "a red barn" "leading" (string-append lora ":0.8") FALSE)
  (gd-options-run dir model vocab "lora-prompt" "a red barn <lora:lora_a_kohya:0.8>" "leading" "" FALSE)
  (gd-options-run dir model vocab "trailing" "a red barn" "trailing" "" FALSE)
  (gd-options-run dir model vocab "draft" "a red barn" "leading" "" TRUE)
  (gd-mark dir "OK"))
