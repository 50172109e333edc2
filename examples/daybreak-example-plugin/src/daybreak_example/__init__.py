"""An example Daybreak plug-in: the ``round_amounts`` detector and ``case_json`` exporter."""
