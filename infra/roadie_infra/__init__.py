"""roadie's Pulumi program: one ComponentResource per tier, composed per stack in `program`."""
