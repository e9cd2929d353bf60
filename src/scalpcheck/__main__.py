from scalpcheck.cli import main

raise SystemExit(main())
