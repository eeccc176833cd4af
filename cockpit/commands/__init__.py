"""One module per subcommand; each exposes ``main(args: argparse.Namespace) -> int``."""
