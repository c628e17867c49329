#pragma once
// The `routelab` command line: which spec to open, which backend, and the two unattended modes
// (--screenshot, --measure) used for the README picture and the performance note.
#include <QString>
#include <QStringList>

#include "spec/spec.h"

namespace rl::ui {

struct LaunchOptions {
  QString preset;              // --preset NAME
  QString config;              // --config FILE (a spec JSON)
  QString backend = "auto";    // --backend auto|vulkan|cpu
  int steps = 0;               // --steps N: train N steps after opening
  QString screenshot;          // --screenshot FILE: train, save the whole window as PNG, exit
  double measureSeconds = 0;   // --measure SECONDS: play at full speed, print frame times, exit
  bool help = false;
};

// Parses arguments (argv without the program name). On a usage error returns false and fills
// error with one sentence naming the flag.
bool parseLaunchOptions(const QStringList& args, LaunchOptions& options, QString& error);
QString launchUsage();

// The spec the options ask for: --config, else --preset, else the default preset. Throws
// std::exception with a readable message (unknown preset, unreadable or invalid spec file).
rl::Spec initialSpec(const LaunchOptions& options);

}  // namespace rl::ui
