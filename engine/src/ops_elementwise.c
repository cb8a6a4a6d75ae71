/* ops_elementwise: not written yet */
