"""One module per exercise: the checks its test cells call and the trusted baselines,
oracles and answers they compare with. Graded code never reaches them."""
