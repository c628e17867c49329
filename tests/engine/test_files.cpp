// File formats: safetensors round trip and every corrupt-file check, crash-safe writes that leave
// the old file intact, CSV tables and run logs.
#include "test_support.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/atomic_file.h"
#include "io/csv_table.h"
#include "io/run_log.h"
#include "io/safetensors.h"

using namespace rl;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("routelab_files_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  // Files in the directory other than the given ones (leftover temporaries).
  std::vector<std::string> others(const std::vector<std::string>& expected) const {
    std::vector<std::string> extra;
    for (const auto& e : fs::directory_iterator(path)) {
      const std::string name = e.path().filename().string();
      if (std::find(expected.begin(), expected.end(), name) == expected.end()) extra.push_back(name);
    }
    return extra;
  }
};

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeRaw(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A safetensors file from a literal header and data bytes; headerLen overrides the length field.
std::string craft(const std::string& header, const std::string& data, int64_t headerLen = -1) {
  uint64_t n = headerLen < 0 ? header.size() : static_cast<uint64_t>(headerLen);
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string floatsLE(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  static_assert(std::endian::native == std::endian::little, "these tests craft little-endian files");
  return s;
}

// The FileError message of decoding bytes ("" when it decodes).
std::string decodeError(const std::string& bytes) {
  try {
    decodeSafetensors(bytes, "w.safetensors");
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

std::string csvError(const std::string& text) {
  try {
    parseCsvTable(text, "t.csv");
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestFiles : public QObject {
  Q_OBJECT
 private slots:
  void safetensorsRoundTrip() {
    TempDir dir;
    std::vector<NamedTensor> tensors = {
        {"moe.0.router.weight", {3, 2}, {1, 2, 3, 4, 5, 6}},
        {"head.bias", {4}, {-0.f, std::numeric_limits<float>::infinity(), std::nanf(""), 1e-45f}},
        {"scalar", {}, {42.5f}},
        {"empty", {0, 3}, {}},
        {"big", {17, 33}, rltest::randomVector(17 * 33, 7)},
    };
    std::map<std::string, std::string> meta = {{"format", "routelab/1"}, {"spec", "{\"a\": [1, 2]}\n"}};
    const std::string path = dir / "w.safetensors";
    writeSafetensors(path, tensors, meta);

    const std::string bytes = readAll(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    QCOMPARE(n % 8, uint64_t(0));  // header padded so the data starts 8-byte aligned
    QVERIFY(bytes.find("\"dtype\":\"F32\"") != std::string::npos);

    SafetensorsFile back = readSafetensors(path);
    QCOMPARE(back.metadata, meta);
    QCOMPARE(back.tensors.size(), tensors.size());
    auto sorted = tensors;
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.name < b.name; });
    for (size_t i = 0; i < sorted.size(); ++i) {
      QCOMPARE(QString::fromStdString(back.tensors[i].name), QString::fromStdString(sorted[i].name));
      QCOMPARE(back.tensors[i].shape, sorted[i].shape);
      QVERIFY2(sameBits(back.tensors[i].data, sorted[i].data), sorted[i].name.c_str());  // NaN, -0, denormals kept
    }
    QVERIFY2(dir.others({"w.safetensors"}).empty(), "a temporary file was left behind");
  }

  void readsAHandMadeFile() {
    // Written by hand from the format description, independent of the writer.
    const std::string header = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                               R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}    )";
    SafetensorsFile f = decodeSafetensors(craft(header, floatsLE({7, 1.5f, -2})), "hand");
    QCOMPARE(f.tensors.size(), size_t(2));
    QCOMPARE(QString::fromStdString(f.tensors[0].name), QString("a"));
    QCOMPARE(f.tensors[0].data, std::vector<float>({7}));
    QCOMPARE(f.tensors[1].data, std::vector<float>({1.5f, -2}));
    QCOMPARE(QString::fromStdString(f.metadata.at("k")), QString("v"));
  }

  void corruptFilesAreRejected() {
    const std::string good = encodeSafetensors({{"w", {2, 2}, {1, 2, 3, 4}}, {"b", {2}, {5, 6}}}, {}, "x");
    QVERIFY(decodeError(good).empty());
    auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, const std::string& offs) {
      return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offs + "}";
    };
    const std::string eight = floatsLE({1, 2});
    struct Case {
      std::string what, bytes, expected;
    };
    const std::vector<Case> cases = {
        {"too short", good.substr(0, 5), "w.safetensors: file is 5 bytes, too short for a safetensors header"},
        {"truncated in the header", good.substr(0, 20), "w.safetensors: header length"},
        {"truncated in the data", good.substr(0, good.size() - 4), "beyond the data"},
        {"header length beyond the file", craft("{}", "", 4000), "w.safetensors: header length 4000 exceeds the file size (10 bytes)"},
        {"header length over 100 MB", craft("{}", "", 200'000'000), "w.safetensors: header length 200000000 exceeds the 100 MB limit"},
        {"bad JSON", craft("{\"w\": {", ""), "w.safetensors: header is not valid JSON"},
        {"header not an object", craft("[1,2]   ", ""), "w.safetensors: header is not a JSON object"},
        {"wrong dtype", craft("{" + entry("w", "F16", "[2]", "[0,4]") + "}", "abcd"),
         "w.safetensors: tensor 'w': dtype F16 is not supported (only F32)"},
        {"offsets out of range", craft("{" + entry("w", "F32", "[2]", "[0,8]") + "}", "abcd"),
         "w.safetensors: tensor 'w': data_offsets end 8 is beyond the data (4 bytes)"},
        {"begin after end", craft("{" + entry("w", "F32", "[2]", "[8,0]") + "}", eight),
         "w.safetensors: tensor 'w': data_offsets begin 8 > end 0"},
        {"size mismatch", craft("{" + entry("w", "F32", "[2,3]", "[0,8]") + "}", eight),
         "w.safetensors: tensor 'w': data_offsets span 8 bytes, shape [2,3] needs 24"},
        {"negative dimension", craft("{" + entry("w", "F32", "[-2]", "[0,8]") + "}", eight),
         "w.safetensors: tensor 'w': shape has a negative or huge dimension -2"},
        {"fractional dimension", craft("{" + entry("w", "F32", "[1.5]", "[0,8]") + "}", eight),
         "w.safetensors: tensor 'w': shape holds a non-integer 1.5"},
        {"huge shape", craft("{" + entry("w", "F32", "[4611686018427387904,4]", "[0,8]") + "}", eight),
         "w.safetensors: tensor 'w': shape [4611686018427387904,4] is too large"},
        {"bad offsets", craft("{" + entry("w", "F32", "[2]", "[0]") + "}", eight),
         "w.safetensors: tensor 'w': data_offsets must be two non-negative integers"},
        {"overlap", craft("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", floatsLE({1, 2, 3})),
         "w.safetensors: tensor 'b': data overlaps the previous tensor"},
        {"gap", craft("{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("b", "F32", "[1]", "[8,12]") + "}", floatsLE({1, 2, 3})),
         "w.safetensors: tensor 'b': 4 unused bytes before its data"},
        {"trailing bytes", craft("{" + entry("a", "F32", "[1]", "[0,4]") + "}", eight),
         "w.safetensors: 4 bytes after the last tensor belong to no tensor"},
        {"missing dtype", craft(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd"), "w.safetensors: tensor 'w': missing dtype"},
        {"unknown field", craft(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", "abcd"),
         "w.safetensors: tensor 'w': unknown field 'x'"},
        {"metadata not strings", craft(R"({"__metadata__":{"n":1}})", ""), "w.safetensors: __metadata__ value of 'n' is not a string"},
    };
    for (const auto& c : cases) {
      const std::string msg = decodeError(c.bytes);
      QVERIFY2(!msg.empty() && msg.find(c.expected) != std::string::npos,
               qPrintable(QString::fromStdString(c.what + ": expected '" + c.expected + "', got '" + msg + "'")));
    }
  }

  void readerNamesTheFile() {
    TempDir dir;
    const std::string path = dir / "short.safetensors";
    writeRaw(path, "abc");
    try {
      readSafetensors(path);
      QFAIL("a 3-byte file was accepted");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).rfind(path + ": file is 3 bytes", 0) == 0, e.what());
    }
    try {
      readSafetensors(dir / "missing.safetensors");
      QFAIL("a missing file was read");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).find("missing.safetensors: cannot open") != std::string::npos, e.what());
    }
  }

  void writerRejectsInconsistentTensors() {
    auto writeError = [](const std::vector<NamedTensor>& t) -> std::string {
      try {
        encodeSafetensors(t, {}, "out.safetensors");
      } catch (const FileError& e) {
        return e.what();
      }
      return "";
    };
    std::string msg = writeError({{"w", {2, 2}, {1, 2, 3}}});
    QVERIFY2(msg == "out.safetensors: tensor 'w': shape [2,2] holds 4 values, data has 3", msg.c_str());
    msg = writeError({{"w", {1}, {1}}, {"w", {1}, {2}}});
    QVERIFY2(msg == "out.safetensors: tensor 'w': appears twice", msg.c_str());
    msg = writeError({{"w", {-1}, {}}});
    QVERIFY2(msg == "out.safetensors: tensor 'w': bad shape [-1]", msg.c_str());
  }

  void atomicWriteReplacesAndCleansUp() {
    TempDir dir;
    const std::string path = dir / "f.txt";
    writeFileAtomic(path, "first");
    QCOMPARE(QString::fromStdString(readAll(path)), QString("first"));
    writeFileAtomic(path, std::string("second\0binary", 13));
    QCOMPARE(readAll(path), std::string("second\0binary", 13));
    QVERIFY2(dir.others({"f.txt"}).empty(), "a temporary file was left behind");
    QCOMPARE(readFileBytes(path), std::string("second\0binary", 13));
  }

  void atomicWriteFailingMidwayKeepsTheOldFile() {
    // The file size limit makes write() fail with EFBIG part-way through, even for root.
    TempDir dir;
    const std::string path = dir / "f.txt";
    writeFileAtomic(path, "old contents");
    rlimit saved{};
    QVERIFY(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto oldHandler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved;
    small.rlim_cur = 4096;
    QVERIFY(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string message;
    try {
      writeFileAtomic(path, std::string(1 << 20, 'x'));
    } catch (const FileError& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &saved);
    ::signal(SIGXFSZ, oldHandler);
    QVERIFY2(message.rfind(path + ": cannot write ", 0) == 0, message.c_str());
    QCOMPARE(QString::fromStdString(readAll(path)), QString("old contents"));
    QVERIFY2(dir.others({"f.txt"}).empty(), "the temporary file was not removed");
  }

  void atomicWriteToUnwritableDirectoryKeepsTheOldFile() {
    TempDir dir;
    const std::string path = dir / "f.txt";
    writeFileAtomic(path, "old contents");
    if (::geteuid() != 0) {
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
      try {
        writeFileAtomic(path, "new");
        QFAIL("wrote into a read-only directory");
      } catch (const FileError& e) {
        QVERIFY2(std::string(e.what()).rfind(path + ": cannot create a temporary file", 0) == 0, e.what());
      }
      fs::permissions(dir.path, fs::perms::owner_all);
      QCOMPARE(QString::fromStdString(readAll(path)), QString("old contents"));
    } else {
      qInfo("running as root: directory permissions do not stop root, checking /proc instead");
    }
    // A directory nobody can create files in, root included.
    try {
      writeFileAtomic("/proc/self/routelab_test", "x");
      QFAIL("wrote into /proc");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).rfind("/proc/self/routelab_test: cannot create a temporary file", 0) == 0, e.what());
    }
    // A missing directory.
    try {
      writeFileAtomic(dir / "no/such/dir/f.txt", "x");
      QFAIL("wrote into a missing directory");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).find("no/such/dir/f.txt") != std::string::npos, e.what());
    }
  }

  void atomicWriteOverADirectoryFailsCleanly() {
    TempDir dir;
    fs::create_directories(dir.path / "target" / "inside");  // rename() cannot replace a non-empty directory
    try {
      writeFileAtomic(dir / "target", "x");
      QFAIL("replaced a directory");
    } catch (const FileError& e) {
      QVERIFY2(std::string(e.what()).rfind(dir / "target" + ": cannot replace the file", 0) == 0, e.what());
    }
    QVERIFY(fs::is_directory(dir.path / "target" / "inside"));
    QVERIFY2(dir.others({"target"}).empty(), "the temporary file was not removed");
  }

  void csvTableReadsWhatPeopleWrite() {
    const std::string text = "\xEF\xBB\xBF" "x, \"y, quoted\",z\r\n1,2,3\r\n\r\n  -4.5 ,+6e2,nan\n\"7\",8,9";
    CsvTable t = parseCsvTable(text, "t.csv");
    QCOMPARE(t.header, std::vector<std::string>({"x", "y, quoted", "z"}));
    QCOMPARE(t.rows.size(), size_t(3));
    QCOMPARE(t.rows[1][0], -4.5);
    QCOMPARE(t.rows[1][1], 600.0);
    QVERIFY(std::isnan(t.rows[1][2]));
    QCOMPARE(t.rows[2][0], 7.0);
    QCOMPARE(t.lines, std::vector<int>({2, 4, 5}));
    QCOMPARE(t.column("z"), size_t(2));
    CsvText cells = parseCsvText("name,note\na,\"say \"\"hi\"\"\nthere\"\nb,c\n", "n.csv");
    QCOMPARE(QString::fromStdString(cells.rows[0][1]), QString("say \"hi\"\nthere"));
    QCOMPARE(cells.lines, std::vector<int>({2, 4}));
  }

  void csvErrorsNameFileAndLine() {
    struct Case {
      std::string text, expected;
    };
    const std::vector<Case> cases = {
        {"", "t.csv:1: empty file (a header row is required)"},
        {"\n\n", "t.csv:1: empty file (a header row is required)"},
        {"a,b\n1,2\n3\n", "t.csv:3: 1 cells, the header has 2"},
        {"a,b\n1,2\n3,4,5\n", "t.csv:3: 3 cells, the header has 2"},
        {"a,b\n1,2\n\n3,x\n", "t.csv:4: column 'b': 'x' is not a number"},
        {"a,b\n1,2abc\n", "t.csv:2: column 'b': '2abc' is not a number"},
        {"a,b\n1,\n", "t.csv:2: column 'b': '' is not a number"},
        {"a,a\n1,2\n", "t.csv:1: header names column 'a' twice"},
        {"3,4\n5,6\n", "t.csv:1: the first row holds numbers, not column names (a header row is required)"},
        {"a,,c\n1,2,3\n", "t.csv:1: header column 2 has no name"},
        {"a,b\n1,\"2\n", "t.csv:2: a quoted cell is never closed"},
        {"a,b\n1,2\"3\"\n", "t.csv:2: a quote inside an unquoted cell"},
        {"a,b\n1,\"2\"3\n", "t.csv:2: text after a closing quote"},
    };
    for (const auto& c : cases) {
      const std::string msg = csvError(c.text);
      QVERIFY2(msg == c.expected, qPrintable(QString::fromStdString("for " + QByteArray::fromStdString(c.text).toPercentEncoding().toStdString() +
                                                                    "\n  expected: " + c.expected + "\n  got:      " + msg)));
    }
    CsvTable t = parseCsvTable("a,b\n1,2\n", "t.csv");
    try {
      t.column("c");
      QFAIL("found a missing column");
    } catch (const FileError& e) {
      QCOMPARE(QString(e.what()), QString("t.csv:1: no column named 'c' (columns: a, b)"));
    }
  }

  void runLogRoundTripsEveryDouble() {
    TempDir dir;
    RunLog log({"step", "loss", "accuracy, %", "odd \"name\""});
    log.add({1, 0.1 + 0.2, std::nan(""), -0.0});
    log.add({2, 1e-310, std::numeric_limits<double>::infinity(), 123456789.123456789});
    log.add({3, -std::numeric_limits<double>::infinity(), 1.0 / 3.0, 5e300});
    try {
      log.add({1, 2});
      QFAIL("a short row was accepted");
    } catch (const std::invalid_argument&) {
    }
    const std::string path = dir / "metrics.csv";
    log.save(path);
    CsvTable back = readCsvTable(path);
    QCOMPARE(back.header, log.columns());
    QCOMPARE(back.rows.size(), log.rows().size());
    for (size_t r = 0; r < back.rows.size(); ++r)
      for (size_t c = 0; c < back.rows[r].size(); ++c) {
        const double a = back.rows[r][c], b = log.rows()[r][c];
        const bool same = (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
        QVERIFY2(same, qPrintable(QString("row %1 column %2: read %3, wrote %4").arg(r).arg(c).arg(a, 0, 'g', 17).arg(b, 0, 'g', 17)));
      }
    QVERIFY2(dir.others({"metrics.csv"}).empty(), "a temporary file was left behind");
  }
};

QTEST_APPLESS_MAIN(TestFiles)
#include "test_files.moc"
