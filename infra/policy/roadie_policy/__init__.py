"""roadie's policy pack: rules (`rules`) and their pulumi-policy wrappers (`policies`)."""
