"""Reports: the analysis JSON contract, and (later) Allure evidence, summaries and the gate."""
