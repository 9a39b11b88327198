from edge.generate import main

main()
