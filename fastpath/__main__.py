from fastpath.cli import main

main()
