from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("kura")
except PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0.0.0+checkout"
