/* tokenizer: not written yet */
