// Spec JSON: exact round trips, defaults, every validation rule with its path, and readable
// parse errors (line:column for syntax, JSON path for unknown keys and wrong types).
#include "test_support.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "spec/spec_json.h"

using namespace rl;

namespace {

// The first field where a and b differ, as a JSON path ("" when equal).
std::string firstDifference(const Spec& a, const Spec& b) {
  std::string diff;
  auto check = [&](bool same, const std::string& path) {
    if (!same && diff.empty()) diff = path;
  };
  check(a.format == b.format, "format");
  check(a.name == b.name, "name");
  check(a.description == b.description, "description");
  check(a.model.head == b.model.head, "model.head");
  check(a.model.loss == b.model.loss, "model.loss");
  check(a.model.layers.size() == b.model.layers.size(), "model.layers (count)");
  for (size_t i = 0; i < std::min(a.model.layers.size(), b.model.layers.size()); ++i) {
    const LayerSpec &x = a.model.layers[i], &y = b.model.layers[i];
    const std::string at = "model.layers[" + std::to_string(i) + "].";
    check(x.type == y.type, at + "type");
    check(x.units == y.units, at + "units");
    check(x.activation == y.activation, at + "activation");
    check(x.experts == y.experts, at + "experts");
    check(x.expertWidths == y.expertWidths, at + "expert_widths");
    check(x.router.type == y.router.type, at + "router.type");
    check(x.router.k == y.router.k, at + "router.k");
    check(x.router.capacityFactor == y.router.capacityFactor, at + "router.capacity_factor");
    check(x.router.jitter == y.router.jitter, at + "router.jitter");
    check(x.router.temperature == y.router.temperature, at + "router.temperature");
    check(x.router.auxLossCoef == y.router.auxLossCoef, at + "router.aux_loss_coef");
    check(x.router.zLossCoef == y.router.zLossCoef, at + "router.z_loss_coef");
  }
  const DataSpec &d = a.data, &e = b.data;
  check(d.kind == e.kind, "data.kind");
  check(d.samples == e.samples, "data.samples");
  check(d.noise == e.noise, "data.noise");
  check(d.testFraction == e.testFraction, "data.test_fraction");
  check(d.seed == e.seed, "data.seed");
  check(d.csvPath == e.csvPath, "data.csv_path");
  check(d.labelColumn == e.labelColumn, "data.label_column");
  check(d.regression == e.regression, "data.regression");
  const TrainSpec &t = a.train, &u = b.train;
  check(t.optimizer == u.optimizer, "train.optimizer");
  check(t.learningRate == u.learningRate, "train.learning_rate");
  check(t.momentum == u.momentum, "train.momentum");
  check(t.beta1 == u.beta1, "train.beta1");
  check(t.beta2 == u.beta2, "train.beta2");
  check(t.epsilon == u.epsilon, "train.epsilon");
  check(t.batchSize == u.batchSize, "train.batch_size");
  check(t.steps == u.steps, "train.steps");
  check(t.seed == u.seed, "train.seed");
  return diff;
}

LayerSpec moeLayer(int experts, std::vector<int> widths, RouterType type, int k) {
  LayerSpec L;
  L.type = LayerType::Moe;
  L.experts = experts;
  L.expertWidths = std::move(widths);
  L.router.type = type;
  L.router.k = k;
  return L;
}

LayerSpec denseLayer(int units, Activation a) {
  LayerSpec L;
  L.type = LayerType::Dense;
  L.units = units;
  L.activation = a;
  return L;
}

// A valid spec exercising most fields with awkward values.
Spec richSpec() {
  Spec s;
  s.name = "rich \"quoted\" name";
  s.description = "Unicode: pᵢ·exp(−½‖y−oᵢ‖²), a newline\nand a tab\t.";
  s.model.layers.push_back(denseLayer(24, Activation::Gelu));
  LayerSpec m = moeLayer(6, {12, 7, 5}, RouterType::NoisyTopK, 3);
  m.activation = Activation::Sigmoid;
  m.router.capacityFactor = 1.25;
  m.router.jitter = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  m.router.temperature = 0.7;
  m.router.auxLossCoef = 1e-300;
  m.router.zLossCoef = 123456.789;
  s.model.layers.push_back(m);
  s.model.layers.push_back(denseLayer(3, Activation::None));
  s.model.head = false;
  s.model.loss = LossType::Mse;
  s.data.kind = "csv";
  s.data.csvPath = "/data/some file.csv";
  s.data.labelColumn = "y";
  s.data.regression = true;
  s.data.samples = 123;
  s.data.noise = 0;
  s.data.testFraction = 0.9;
  s.data.seed = UINT64_MAX;
  s.train.optimizer = OptimizerType::Sgd;
  s.train.learningRate = 3.3e-4;
  s.train.momentum = 0.95;
  s.train.beta1 = 0.8;
  s.train.beta2 = 0.9999;
  s.train.epsilon = 1e-12;
  s.train.batchSize = 65536;
  s.train.steps = 7;
  s.train.seed = 42;
  return s;
}

Spec validBase() {
  Spec s;
  s.name = "base";
  s.model.layers.push_back(denseLayer(16, Activation::Relu));
  s.model.layers.push_back(moeLayer(4, {8, 8}, RouterType::TopK, 2));
  return s;
}

// The preset files of resources/presets (ROUTELAB_PRESET_DIR comes with the engine library).
std::vector<std::pair<std::string, Spec>> presetFiles() {
  std::vector<std::pair<std::string, Spec>> out;
  for (const auto& entry : std::filesystem::directory_iterator(ROUTELAB_PRESET_DIR))
    if (entry.path().extension() == ".json") out.push_back({entry.path().string(), loadSpecFile(entry.path().string())});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string joined(const std::vector<std::string>& list) {
  std::string s;
  for (const auto& x : list) s += "\n    " + x;
  return s.empty() ? " (none)" : s;
}

// The SpecError message of parsing text, or "" when it parses.
std::string parseError(const std::string& text) {
  try {
    parseSpec(text, "t.json");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestSpec : public QObject {
  Q_OBJECT
 private slots:
  void roundTripIsExact() {
    QCOMPARE(QString::fromStdString(firstDifference(richSpec(), richSpec())), QString());
    QCOMPARE(QString::fromStdString(firstDifference(richSpec(), validBase())), QString("name"));  // the checker sees differences
    std::vector<std::pair<std::string, Spec>> specs;
    Spec minimal;
    minimal.model.layers.push_back(moeLayer(2, {4}, RouterType::Switch, 1));
    specs.push_back({"minimal", minimal});
    specs.push_back({"rich", richSpec()});
    specs.push_back({"base", validBase()});
    for (const auto& preset : presetFiles()) specs.push_back(preset);
    QVERIFY(specs.size() >= 5);
    for (const auto& [name, spec] : specs) {
      const std::string text = specToJson(spec);
      Spec back = parseSpec(text, name);
      const std::string diff = firstDifference(spec, back);
      QVERIFY2(diff.empty(), qPrintable(QString::fromStdString(name + ": field " + diff + " changed; JSON:\n" + text)));
      QCOMPARE(specToJson(back), text);  // stable text, stable key order
    }
  }

  void keyOrderIsFixed() {
    const std::string text = specToJson(richSpec());
    std::vector<std::string> keys = {"\"format\"", "\"name\"", "\"description\"", "\"model\"", "\"layers\"",
                                     "\"head\"", "\"loss\"", "\"data\"", "\"kind\"", "\"seed\"", "\"train\"",
                                     "\"optimizer\"", "\"learning_rate\""};
    size_t at = 0;
    for (const auto& k : keys) {
      size_t found = text.find(k, at);
      QVERIFY2(found != std::string::npos, qPrintable(QString::fromStdString(k + " missing or out of order:\n" + text)));
      at = found;
    }
  }

  void missingKeysTakeDefaults() {
    Spec parsed = parseSpec(R"({"format": "routelab/1"})", "min.json");
    const std::string diff = firstDifference(parsed, Spec{});
    QVERIFY2(diff.empty(), qPrintable(QString::fromStdString("field " + diff + " is not the spec.h default")));
    Spec layer = parseSpec(R"({"format": "routelab/1", "model": {"layers": [{"experts": 3}]}})", "l.json");
    QCOMPARE(layer.model.layers.size(), size_t(1));
    QVERIFY(layer.model.layers[0].type == LayerType::Moe);
    QCOMPARE(layer.model.layers[0].router.k, RouterSpec{}.k);
    QCOMPARE(layer.model.layers[0].router.temperature, RouterSpec{}.temperature);
  }

  void presetsAreValid() {
    auto presets = presetFiles();
    QVERIFY(!presets.empty());
    for (const auto& [name, spec] : presets) {
      auto problems = validateSpec(spec);
      QVERIFY2(problems.empty(), qPrintable(QString::fromStdString(name + ":" + joined(problems))));
    }
  }

  void everyRuleReportsItsPath() {
    QVERIFY2(validateSpec(validBase()).empty(), qPrintable(QString::fromStdString(joined(validateSpec(validBase())))));
    struct Case {
      std::function<void(Spec&)> change;
      std::string expected;
    };
    const std::vector<Case> cases = {
        {[](Spec& s) { s.format = "routelab/0"; }, "format: must be \"routelab/1\" (got \"routelab/0\")"},
        {[](Spec& s) { s.model.layers.clear(); }, "model.layers: needs at least one layer"},
        {[](Spec& s) { s.model.layers.assign(33, denseLayer(4, Activation::Relu)); }, "model.layers: at most 32 layers (got 33)"},
        {[](Spec& s) { s.model.layers[0].units = 0; }, "model.layers[0].units: must be in [1, 4096] (got 0)"},
        {[](Spec& s) { s.model.layers[0].units = 4097; }, "model.layers[0].units: must be in [1, 4096] (got 4097)"},
        {[](Spec& s) { s.model.layers[1].experts = 0; }, "model.layers[1].experts: must be in [1, 64] (got 0)"},
        {[](Spec& s) { s.model.layers[1].experts = 65; }, "model.layers[1].experts: must be in [1, 64] (got 65)"},
        {[](Spec& s) { s.model.layers[1].expertWidths.clear(); }, "model.layers[1].expert_widths: needs at least one width"},
        {[](Spec& s) { s.model.layers[1].expertWidths[1] = 0; }, "model.layers[1].expert_widths[1]: must be in [1, 4096] (got 0)"},
        {[](Spec& s) { s.model.layers[1].expertWidths[0] = 5000; }, "model.layers[1].expert_widths[0]: must be in [1, 4096] (got 5000)"},
        {[](Spec& s) { s.model.layers[1].router.k = 5; }, "model.layers[1].router.k: 5 exceeds experts (4)"},
        {[](Spec& s) { s.model.layers[1].router.k = 0; }, "model.layers[1].router.k: must be >= 1 (got 0)"},
        {[](Spec& s) { s.model.layers[1].router.type = RouterType::NoisyTopK; s.model.layers[1].router.k = 9; },
         "model.layers[1].router.k: 9 exceeds experts (4)"},
        {[](Spec& s) { s.model.layers[1].router.type = RouterType::Switch; }, "model.layers[1].router.k: must be 1 for switch routing (got 2)"},
        {[](Spec& s) { s.model.layers[1].router.temperature = 0; }, "model.layers[1].router.temperature: must be > 0 (got 0)"},
        {[](Spec& s) { s.model.layers[1].router.capacityFactor = -1; }, "model.layers[1].router.capacity_factor: must be >= 0 (got -1)"},
        {[](Spec& s) { s.model.layers[1].router.jitter = 1; }, "model.layers[1].router.jitter: must be in [0, 1) (got 1)"},
        {[](Spec& s) { s.model.layers[1].router.jitter = -0.1; }, "model.layers[1].router.jitter: must be in [0, 1) (got -0.1)"},
        {[](Spec& s) { s.model.layers[1].router.auxLossCoef = -0.5; }, "model.layers[1].router.aux_loss_coef: must be >= 0 (got -0.5)"},
        {[](Spec& s) { s.model.layers[1].router.zLossCoef = -2; }, "model.layers[1].router.z_loss_coef: must be >= 0 (got -2)"},
        {[](Spec& s) { s.model.loss = LossType::Competitive; s.model.head = false; s.model.layers.push_back(denseLayer(4, Activation::None)); },
         "model.loss: competitive needs the last layer to be a moe layer (model.layers[2] is dense)"},
        {[](Spec& s) { s.model.loss = LossType::Cooperative; },
         "model.head: must be false with the cooperative loss (the experts' outputs are the prediction)"},
        {[](Spec& s) { s.data.kind = "regression_local"; },
         "model.loss: cross_entropy needs class labels, but the data (kind regression_local) is a regression task: use mse, cooperative or competitive"},
        {[](Spec& s) { s.data.kind = "spirals"; },
         "data.kind: unknown kind 'spirals' (one of: circle, xor, gaussians, spiral, spiral4, regression_local, vowels, csv)"},
        {[](Spec& s) { s.data.samples = 9; }, "data.samples: must be in [10, 1000000] (got 9)"},
        {[](Spec& s) { s.data.noise = -0.1; }, "data.noise: must be >= 0 (got -0.1)"},
        {[](Spec& s) { s.data.testFraction = 0; }, "data.test_fraction: must be in (0, 0.9] (got 0)"},
        {[](Spec& s) { s.data.testFraction = 0.95; }, "data.test_fraction: must be in (0, 0.9] (got 0.95)"},
        {[](Spec& s) { s.data.kind = "csv"; }, "data.csv_path: required for kind csv"},
        {[](Spec& s) { s.data.kind = "csv"; }, "data.label_column: required for kind csv"},
        {[](Spec& s) { s.data.csvPath = "x.csv"; }, "data.csv_path: only used by kind csv (kind is spiral4)"},
        {[](Spec& s) { s.data.labelColumn = "y"; }, "data.label_column: only used by kind csv (kind is spiral4)"},
        {[](Spec& s) { s.data.regression = true; }, "data.regression: only used by kind csv (regression_local is always regression)"},
        {[](Spec& s) { s.train.learningRate = -1; }, "train.learning_rate: must be > 0 (got -1)"},
        {[](Spec& s) { s.train.learningRate = std::nan(""); }, "train.learning_rate: must be > 0 (got nan)"},
        {[](Spec& s) { s.train.momentum = 1; }, "train.momentum: must be in [0, 1) (got 1)"},
        {[](Spec& s) { s.train.beta1 = -0.1; }, "train.beta1: must be in [0, 1) (got -0.1)"},
        {[](Spec& s) { s.train.beta2 = 1.5; }, "train.beta2: must be in [0, 1) (got 1.5)"},
        {[](Spec& s) { s.train.epsilon = 0; }, "train.epsilon: must be > 0 (got 0)"},
        {[](Spec& s) { s.train.batchSize = 0; }, "train.batch_size: must be in [1, 65536] (got 0)"},
        {[](Spec& s) { s.train.batchSize = 65537; }, "train.batch_size: must be in [1, 65536] (got 65537)"},
        {[](Spec& s) { s.train.steps = 0; }, "train.steps: must be >= 1 (got 0)"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
      Spec s = validBase();
      cases[i].change(s);
      auto problems = validateSpec(s);
      QVERIFY2(contains(problems, cases[i].expected),
               qPrintable(QString::fromStdString("case " + std::to_string(i) + ": expected\n    " + cases[i].expected +
                                                 "\n  got" + joined(problems))));
    }
  }

  void routerKRulesPerType() {
    Spec s = validBase();
    s.model.layers[1].router.type = RouterType::Dense;
    s.model.layers[1].router.k = 99;  // dense uses every expert: k is ignored
    QVERIFY2(validateSpec(s).empty(), qPrintable(QString::fromStdString(joined(validateSpec(s)))));
    s.model.layers[1].router.type = RouterType::Switch;
    s.model.layers[1].router.k = 1;
    QVERIFY2(validateSpec(s).empty(), qPrintable(QString::fromStdString(joined(validateSpec(s)))));
    // With an invalid expert count only the expert count is reported, not a follow-on k message.
    s.model.layers[1].router.type = RouterType::TopK;
    s.model.layers[1].router.k = 2;
    s.model.layers[1].experts = 0;
    QCOMPARE(validateSpec(s).size(), size_t(1));
  }

  void everyProblemIsReported() {
    Spec s = validBase();
    s.model.layers[1].router.k = 5;
    s.train.learningRate = 0;
    s.data.samples = 1;
    s.train.batchSize = -3;
    auto problems = validateSpec(s);
    QVERIFY2(problems.size() == 4, qPrintable(QString::fromStdString(joined(problems))));
  }

  void syntaxErrorGivesLineAndColumn() {
    // 'o' of oops is line 3, column 11.
    std::string msg = parseError("{\n  \"format\": \"routelab/1\",\n  \"name\": oops\n}");
    QVERIFY2(msg.rfind("t.json:3:11: invalid JSON: ", 0) == 0, msg.c_str());
    // A trailing comma: the '}' that follows it is line 2, column 1.
    msg = parseError("{\"format\": \"routelab/1\",\n}");
    QVERIFY2(msg.rfind("t.json:2:1: invalid JSON: ", 0) == 0, msg.c_str());
    // Unterminated input: reported at the end.
    msg = parseError("{\"format\": \"routelab/1\"");
    QVERIFY2(msg.rfind("t.json:1:", 0) == 0 && msg.find("invalid JSON") != std::string::npos, msg.c_str());
    msg = parseError("");
    QVERIFY2(msg.rfind("t.json:1:1: invalid JSON", 0) == 0, msg.c_str());
  }

  void unknownKeyIsReportedWithPath() {
    std::string msg = parseError(R"({"format": "routelab/1", "model": {"layers": [{"type": "dense", "units": 3},
        {"experts": 2, "expert_widths": [2], "router": {"tempreature": 2}}]}})");
    QVERIFY2(msg.rfind("t.json: model.layers[1].router.tempreature: unknown key", 0) == 0, msg.c_str());
    QVERIFY2(msg.find("did you mean 'temperature'") != std::string::npos, msg.c_str());
    msg = parseError(R"({"format": "routelab/1", "trian": {}})");
    QVERIFY2(msg.rfind("t.json: trian: unknown key", 0) == 0, msg.c_str());
    msg = parseError(R"({"format": "routelab/1", "data": {"kind": "xor", "sed": 3}})");
    QVERIFY2(msg.rfind("t.json: data.sed: unknown key", 0) == 0, msg.c_str());
    // A field of the other layer type is named as such.
    msg = parseError(R"({"format": "routelab/1", "model": {"layers": [{"type": "dense", "experts": 2}]}})");
    QVERIFY2(msg.rfind("t.json: model.layers[0].experts: belongs to moe layers", 0) == 0, msg.c_str());
  }

  void formatIsRequiredAndChecked() {
    std::string msg = parseError(R"({"format": "routelab/2"})");
    QVERIFY2(msg.rfind("t.json: format: unsupported format \"routelab/2\"", 0) == 0, msg.c_str());
    msg = parseError(R"({"name": "x"})");
    QVERIFY2(msg.rfind("t.json: format: missing", 0) == 0, msg.c_str());
    msg = parseError(R"({"format": 1})");
    QVERIFY2(msg.rfind("t.json: format: unsupported format 1", 0) == 0, msg.c_str());
    msg = parseError("[1, 2]");
    QVERIFY2(msg.rfind("t.json: the spec: expected an object", 0) == 0, msg.c_str());
  }

  void wrongTypesAndValuesName() {
    struct Case {
      std::string json, expectedStart;
    };
    const std::vector<Case> cases = {
        {R"("model": {"layers": [{"experts": "4"}]})", "t.json: model.layers[0].experts: expected a whole number, got the string \"4\""},
        {R"("model": {"layers": [{"experts": 2.5}]})", "t.json: model.layers[0].experts: expected a whole number, got the number 2.5"},
        {R"("model": {"layers": [{"expert_widths": [4, true]}]})", "t.json: model.layers[0].expert_widths[1]: expected a whole number, got boolean"},
        {R"("model": {"layers": [{"experts": 99999999999}]})", "t.json: model.layers[0].experts: 99999999999 is out of range"},
        {R"("model": {"layers": [{"activation": "swish"}]})", "t.json: model.layers[0].activation: unknown value 'swish' (one of: none, relu, gelu, tanh, sigmoid)"},
        {R"("model": {"layers": [{"router": {"type": "topk"}}]})", "t.json: model.layers[0].router.type: unknown value 'topk' (one of: dense, top_k, noisy_top_k, switch)"},
        {R"("model": {"layers": [{"type": "conv"}]})", "t.json: model.layers[0].type: unknown value 'conv' (one of: dense, moe)"},
        {R"("model": {"loss": "xent"})", "t.json: model.loss: unknown value 'xent' (one of: cross_entropy, mse, cooperative, competitive)"},
        {R"("model": {"head": 1})", "t.json: model.head: expected true or false, got the whole number 1"},
        {R"("model": {"layers": {}})", "t.json: model.layers: expected an array of layers, got object"},
        {R"("train": {"optimizer": "adamw"})", "t.json: train.optimizer: unknown value 'adamw' (one of: adam, sgd)"},
        {R"("train": {"learning_rate": "0.1"})", "t.json: train.learning_rate: expected a number, got the string \"0.1\""},
        {R"("train": {"seed": -1})", "t.json: train.seed: expected a whole number >= 0, got -1"},
        {R"("data": {"kind": 3})", "t.json: data.kind: expected a string, got the whole number 3"},
        {R"("data": [])", "t.json: data: expected an object, got array"},
        {R"("train": {"seed": 1, "seed": 2})", "t.json: train.seed: key appears twice in one object"},
        {R"("model": {"layers": [{}, {"router": {"k": 1, "k": 2}}]})", "t.json: model.layers[1].router.k: key appears twice in one object"},
    };
    for (const auto& c : cases) {
      std::string msg = parseError(R"({"format": "routelab/1", )" + c.json + "}");
      QVERIFY2(msg.rfind(c.expectedStart, 0) == 0,
               qPrintable(QString::fromStdString("for " + c.json + "\n  expected: " + c.expectedStart + "\n  got:      " + msg)));
    }
  }

  void loadSpecFileResolvesCsvPathAndNamesTheFile() {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("routelab_spec_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "s.json";
    std::ofstream(file) << R"({"format": "routelab/1", "data": {"kind": "csv", "csv_path": "d/x.csv", "label_column": "y"}})";
    Spec s = loadSpecFile(file.string());
    QCOMPARE(QString::fromStdString(s.data.csvPath), QString::fromStdString((dir / "d/x.csv").string()));
    try {
      loadSpecFile((dir / "missing.json").string());
      QFAIL("a missing file loaded");
    } catch (const SpecError& e) {
      QVERIFY2(std::string(e.what()).find("missing.json") != std::string::npos, e.what());
    }
    fs::remove_all(dir);
  }
};

QTEST_APPLESS_MAIN(TestSpec)
#include "test_spec.moc"
