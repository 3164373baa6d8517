// sgdspectra: the command-line client of the sgdspectra service. See client/cli.h.
#include "client/cli.h"

int main(int argc, char** argv) { return sgdspectra::client::RunCli(argc, argv); }
