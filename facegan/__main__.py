from facegan.cli import main

raise SystemExit(main())
