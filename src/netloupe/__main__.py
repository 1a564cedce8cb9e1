from netloupe.cli.main import main

main()
