/* ops_attention: not written yet */
