/* model_config: not written yet */
