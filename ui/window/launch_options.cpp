#include "window/launch_options.h"

#include <stdexcept>

#include "spec/presets.h"
#include "spec/spec_json.h"

namespace rl::ui {

namespace {

bool takeValue(const QStringList& args, int& i, QString& value, QString& error) {
  if (i + 1 >= args.size()) {
    error = QString("%1 needs a value").arg(args[i]);
    return false;
  }
  value = args[++i];
  return true;
}

}  // namespace

bool parseLaunchOptions(const QStringList& args, LaunchOptions& options, QString& error) {
  for (int i = 0; i < args.size(); ++i) {
    const QString flag = args[i];
    QString value;
    if (flag == "--help" || flag == "-h") {
      options.help = true;
      continue;
    }
    if (!flag.startsWith("--")) {
      error = QString("unexpected argument '%1'").arg(flag);
      return false;
    }
    if (flag != "--preset" && flag != "--config" && flag != "--backend" && flag != "--steps" &&
        flag != "--screenshot" && flag != "--measure") {
      error = QString("unknown option %1").arg(flag);
      return false;
    }
    if (!takeValue(args, i, value, error)) return false;
    if (flag == "--preset") {
      options.preset = value;
    } else if (flag == "--config") {
      options.config = value;
    } else if (flag == "--backend") {
      if (value != "auto" && value != "vulkan" && value != "cpu") {
        error = QString("--backend must be auto, vulkan or cpu, not '%1'").arg(value);
        return false;
      }
      options.backend = value;
    } else if (flag == "--steps") {
      bool ok = false;
      const int n = value.toInt(&ok);
      if (!ok || n < 0 || n > 10'000'000) {
        error = QString("--steps must be a whole number from 0 to 10000000, not '%1'").arg(value);
        return false;
      }
      options.steps = n;
    } else if (flag == "--screenshot") {
      if (!value.endsWith(".png", Qt::CaseInsensitive)) {
        error = QString("--screenshot writes a PNG: give a file ending in .png, not '%1'").arg(value);
        return false;
      }
      options.screenshot = value;
    } else if (flag == "--measure") {
      bool ok = false;
      const double seconds = value.toDouble(&ok);
      if (!ok || seconds <= 0 || seconds > 3600) {
        error = QString("--measure must be a number of seconds above 0 and up to 3600, not '%1'").arg(value);
        return false;
      }
      options.measureSeconds = seconds;
    }
  }
  if (!options.preset.isEmpty() && !options.config.isEmpty()) {
    error = "give --preset or --config, not both";
    return false;
  }
  if (!options.screenshot.isEmpty() && options.measureSeconds > 0) {
    error = "--screenshot and --measure cannot be combined";
    return false;
  }
  return true;
}

QString launchUsage() {
  QString presets;
  for (const std::string& name : rl::presetNames())
    presets += QString(presets.isEmpty() ? "" : ", ") + QString::fromStdString(name);
  return QString(
             "routelab — edit a Mixture-of-Experts network and watch its routing while it trains\n"
             "\n"
             "usage:\n"
             "  routelab [--preset NAME | --config FILE] [--backend auto|vulkan|cpu] [--steps N]\n"
             "  routelab --screenshot FILE.png [--preset NAME | --config FILE] [--steps N] [--backend ...]\n"
             "  routelab --measure SECONDS [--preset NAME | --config FILE] [--backend ...]\n"
             "\n"
             "  --preset NAME       open a built-in preset (default %1); presets: %2\n"
             "  --config FILE       open a spec JSON file (as written by routelab-cli: config.json)\n"
             "  --backend B         auto (Vulkan on a real GPU, else the CPU backend), vulkan or cpu\n"
             "  --steps N           train N steps after opening (then pause)\n"
             "  --screenshot FILE   train N steps, wait until the views drew step N, save the whole\n"
             "                      window as a PNG and exit (nonzero with a message on failure)\n"
             "  --measure SECONDS   play at full speed for that long, then print the frame-time median\n"
             "                      and 95th percentile and the training steps/s, and exit\n"
             "  --help              this text\n")
      .arg(QString(rl::kDefaultPreset), presets);
}

rl::Spec initialSpec(const LaunchOptions& options) {
  if (!options.config.isEmpty()) {
    rl::Spec spec = rl::loadSpecFile(options.config.toStdString());
    const std::vector<std::string> problems = rl::validateSpec(spec);
    if (!problems.empty()) {
      std::string text = options.config.toStdString() + ": the spec is not usable:";
      for (const std::string& p : problems) text += "\n  " + p;
      throw std::invalid_argument(text);
    }
    return spec;
  }
  return rl::loadPreset(options.preset.isEmpty() ? rl::kDefaultPreset : options.preset.toStdString());
}

}  // namespace rl::ui
