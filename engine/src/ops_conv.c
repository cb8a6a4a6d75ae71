/* ops_conv: not written yet */
