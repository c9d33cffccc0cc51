"""roadie's Pulumi program: `pulumi up` in this folder builds the selected stack."""

from roadie_infra.program import main

main()
