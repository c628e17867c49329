// TokenRoutingView and the routing-flow builder: exact flow counts on hand-made routings, clear
// errors on inconsistent ones; the view's cells are filled with the palette colour of the chosen
// expert (read back from grabbed pixels), dropped tokens are hatched, tooltips name the token,
// the note shows without token routing, exports write PNG/SVG/PDF, and the layout fits at the
// sizes a dock has. Grabs of realistic synthetic routings are copied to
// $ROUTELAB_TOKEN_ROUTING_SHOTS when set, to look at them.
#include <QDir>
#include <QFile>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QToolTip>
#include <QtTest>
#include <algorithm>
#include <random>
#include <stdexcept>

#include "run/token_routing.h"
#include "views/plot_style.h"
#include "views/token_routing_view.h"

using namespace rl::ui;

namespace {

// The message of the std::invalid_argument `f` throws ("" when it does not throw).
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

// Three layers with 2, 3 and 2 experts, six tokens; -1 = dropped. Worked out by hand:
// layer 1 → 2: tokens 0, 3 go 0 → 2; tokens 1, 2 go 1 → 0; token 4 (dropped at layer 1) and
// token 5 (dropped at layer 2) are not counted.
// layer 2 → 3: token 0: 2 → 1, token 1: 0 → 1, token 2: 0 → 0, token 3: 2 → 1, token 4: 1 → 0.
const std::vector<std::vector<int>> kChosen = {{0, 1, 1, 0, -1, 1}, {2, 0, 0, 2, 1, -1}, {1, 1, 0, 1, 0, 0}};
const std::vector<int> kExperts = {2, 3, 2};
const RoutingFlow kExpectedFlow = {{{0, 0, 2}, {2, 0, 0}}, {{1, 1}, {1, 0}, {0, 2}}};

// A small routing for the view: 2 layers of 4 experts, 6 tokens with known choices and weights.
TokenRouting smallRouting() {
  TokenRouting r;
  r.tokens = {"<sort>", "b", "a", "9", " ", "c"};
  r.layers = 2;
  r.experts = {4, 4};
  r.chosen = {{0, 1, 1, 2, -1, 3}, {3, 2, 2, -1, 0, 1}};
  r.weight = {{1.0f, 0.62f, 0.25f, 1.0f, 0.0f, 0.9f}, {1.0f, 1.0f, 0.5f, 0.0f, 0.7f, 1.0f}};
  r.flow = routingFlow(r.chosen, r.experts);  // counted from the sample alone
  r.sequences = 1;
  return r;
}

// Realistic synthetic routing of a multi-task token stream: a task token, then letters, digits
// and separators. Layer 1 routes mostly by token kind, later layers mostly by the previous
// layer's expert, each with noise; gate weights in [0.3, 0.95]; ~4% of tokens dropped. The flow
// counts `sequences` sequences, the first of which is the sample.
TokenRouting syntheticRouting(int layers, int experts, int tokens, int sequences, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const std::vector<std::string> tasks = {"<copy>", "<rev>", "<sort>", "<count>"};
  auto tokenText = [&](int t) -> std::string {
    if (t == 0) return tasks[rng() % tasks.size()];
    const float u = unit(rng);
    if (u < 0.45f) return std::string(1, char('a' + rng() % 16));
    if (u < 0.8f) return std::to_string(rng() % 10);
    if (u < 0.9f) return "|";
    return u < 0.95f ? "=" : " ";
  };
  auto kindExpert = [&](const std::string& s) {
    if (s[0] == '<') return 0;
    if (s[0] >= 'a' && s[0] <= 'h') return 1;
    if (s[0] >= 'i' && s[0] <= 'p') return 2;
    if (s[0] >= '0' && s[0] <= '4') return 3;
    if (s[0] >= '5' && s[0] <= '9') return 4;
    return s[0] == '|' ? 5 : 6;
  };
  TokenRouting r;
  r.layers = layers;
  r.experts.assign(size_t(layers), experts);
  std::vector<std::vector<int>> all(static_cast<size_t>(layers));  // [L][sequences * tokens]
  for (int s = 0; s < sequences; ++s) {
    for (int t = 0; t < tokens; ++t) {
      const std::string text = tokenText(t);
      int previous = kindExpert(text) % experts;
      for (int l = 0; l < layers; ++l) {
        int e = l == 0 ? previous : (previous * 3 + l) % experts;
        if (unit(rng) < 0.2f) e = int(rng() % unsigned(experts));
        if (unit(rng) < 0.04f) e = -1;
        all[size_t(l)].push_back(e);
        if (e >= 0) previous = e;
        if (s == 0) {
          if (l == 0) r.tokens.push_back(text);
          r.chosen.resize(size_t(layers));
          r.weight.resize(size_t(layers));
          r.chosen[size_t(l)].push_back(e);
          r.weight[size_t(l)].push_back(e >= 0 ? 0.3f + 0.65f * unit(rng) : 0.0f);
        }
      }
    }
  }
  r.flow = routingFlow(all, r.experts);
  r.sequences = sequences;
  return r;
}

RunSnapshot snapshotWith(const TokenRouting& r, int step = 1200) {
  RunSnapshot s;
  s.step = step;
  s.tokenRouting = r;
  return s;
}

QImage grabView(QWidget& view, const QString& name) {
  QCoreApplication::processEvents();
  const QImage image = view.grab().toImage();
  const QString dir = qEnvironmentVariable("ROUTELAB_TOKEN_ROUTING_SHOTS");
  if (!dir.isEmpty()) {
    QDir().mkpath(dir);
    image.save(dir + "/" + name + ".png");
  }
  return image;
}

// Fraction of pixels that are not (near) white: a blank figure scores ~0.
double inkFraction(const QImage& image) {
  qint64 ink = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      if (qGray(image.pixel(x, y)) < 235) ++ink;
  return double(ink) / (qint64(image.width()) * image.height());
}

QString rgb(QRgb c) { return QString("(%1, %2, %3)").arg(qRed(c)).arg(qGreen(c)).arg(qBlue(c)); }

// A pixel inside `cell` clear of the centred token text: one in from the top-left corner.
QRgb cornerPixel(const QImage& image, const QRect& cell) { return image.pixel(cell.topLeft() + QPoint(1, 1)); }

}  // namespace

class TestTokenRoutingView : public QObject {
  Q_OBJECT

 private slots:
  void flowBuilderCountsExactly() {
    QCOMPARE(routingFlow(kChosen, kExperts), kExpectedFlow);
    // Accumulating a second batch adds its counts.
    RoutingFlow flow = routingFlow(kChosen, kExperts);
    accumulateRoutingFlow(flow, {{1}, {1}, {1}}, kExperts);
    RoutingFlow expected = kExpectedFlow;
    expected[0][1][1] += 1;
    expected[1][1][1] += 1;
    QCOMPARE(flow, expected);
    // One layer has no pairs; no tokens give zero matrices of the right shape.
    QCOMPARE(routingFlow({{0, 1}}, {2}), RoutingFlow{});
    QCOMPARE(routingFlow({{}, {}}, {2, 3}), (RoutingFlow{{{0, 0, 0}, {0, 0, 0}}}));
  }

  void rowSharesNormaliseEachRow() {
    QCOMPARE(rowShares(kExpectedFlow[1]), (std::vector<std::vector<double>>{{0.5, 0.5}, {1, 0}, {0, 1}}));
    // A row without tokens stays zero instead of becoming NaN.
    QCOMPARE(rowShares({{0, 0}, {1, 3}}), (std::vector<std::vector<double>>{{0, 0}, {0.25, 0.75}}));
    QCOMPARE(rowTotal({1, 2.5, 0}), 3.5);
  }

  void flowBuilderRejectsInconsistentInput() {
    std::string e = errorOf([] { routingFlow({{0, 1}, {0, 3}}, {2, 3}); });
    QVERIFY2(e.find("chosen[1][1] = 3 but layer 2 has 3 experts") != std::string::npos, e.c_str());
    e = errorOf([] { routingFlow({{0, -2}}, {2}); });
    QVERIFY2(e.find("chosen[0][1] = -2") != std::string::npos, e.c_str());
    e = errorOf([] { routingFlow({{0, 1}, {0}}, {2, 3}); });
    QVERIFY2(e.find("chosen[1] has 1 tokens but 2 were expected") != std::string::npos, e.c_str());
    e = errorOf([] { routingFlow({{0}, {0}}, {2}); });
    QVERIFY2(e.find("chosen has 2 layers but experts lists 1") != std::string::npos, e.c_str());
    e = errorOf([] { routingFlow({{0}, {0}}, {2, 0}); });
    QVERIFY2(e.find("experts[1] = 0") != std::string::npos, e.c_str());
    // Accumulating into a flow of another shape.
    e = errorOf([] {
      RoutingFlow flow = {{{0, 0}, {0, 0}}};
      accumulateRoutingFlow(flow, {{0}, {0}}, {2, 3});
    });
    QVERIFY2(e.find("flow[0][0] has 2 columns but layer 2 has 3 experts") != std::string::npos, e.c_str());
  }

  // A lasso selection counts only its tokens. From kChosen by hand, tokens 0, 1 and 4:
  // layer 1 → 2: token 0 goes 0 → 2, token 1 goes 1 → 0, token 4 is dropped at layer 1;
  // layer 2 → 3: token 0 goes 2 → 1, token 1 goes 0 → 1, token 4 goes 1 → 0.
  void selectionFlowCountsOnlyTheSelectedTokens() {
    TokenRouting r;
    r.tokens = {"a", "b", "c", "d", "e", "f"};
    r.layers = 3;
    r.experts = kExperts;
    r.chosen = kChosen;
    r.weight.assign(3, std::vector<float>(6, 1.0f));
    r.flow = kExpectedFlow;
    r.sequences = 1;
    r.probeChosen = kChosen;
    QCOMPARE(tokenRoutingProblem(r), std::string());
    const RoutingFlow expected = {{{0, 0, 1}, {1, 0, 0}}, {{0, 1}, {1, 0}, {0, 1}}};
    // Rows outside the probe are ignored and a repeated row counts once.
    const std::vector<int> rows = {4, 0, 1, 4, 99, -3};
    QCOMPARE(selectionFlow(r, rows), expected);
    QCOMPARE(selectionFlow(r, {}), (RoutingFlow{{{0, 0, 0}, {0, 0, 0}}, {{0, 0}, {0, 0}, {0, 0}}}));
    QCOMPARE(selectionFlow(r, {0, 1, 2, 3, 4, 5}), kExpectedFlow);

    TokenRoutingView view;
    view.resize(700, 500);
    view.showSnapshot(snapshotWith(r));
    QCOMPARE(view.shownFlow(), kExpectedFlow);
    view.setSelectedRows(rows);
    QVERIFY(view.hasSelection());
    QCOMPARE(view.shownFlow(), expected);
    QCOMPARE(view.selectedProbeTokens(), 3);
    QVERIFY(view.tokenSelected(0) && view.tokenSelected(1) && view.tokenSelected(4));
    QVERIFY(!view.tokenSelected(2) && !view.tokenSelected(5));
    QCOMPARE(view.tooltipAt(view.flowCellRect(0, 1, 0).center()), QString("layer 1 expert 1 → layer 2 expert 0\n1 of 1 tokens (100.0%)"));
    // A new snapshot keeps the selection and recounts it.
    view.showSnapshot(snapshotWith(r, 1300));
    QCOMPARE(view.shownFlow(), expected);
    view.setSelectedRows({});
    QVERIFY(!view.hasSelection());
    QCOMPARE(view.shownFlow(), kExpectedFlow);

    // Without per-token choices the selection still outlines the sample, and the flow stays whole.
    r.probeChosen.clear();
    QVERIFY(errorOf([&] { selectionFlow(r, rows); }).find("no per-token probe choices") != std::string::npos);
    view.showSnapshot(snapshotWith(r, 1400));
    view.setSelectedRows(rows);
    QCOMPARE(view.shownFlow(), kExpectedFlow);
    QVERIFY(view.tokenSelected(4));
    // Inconsistent per-token choices are named.
    r.probeChosen = kChosen;
    r.probeChosen[1][2] = 9;
    QCOMPARE(tokenRoutingProblem(r), std::string("probe chosen[1][2] = 9 but layer 2 has 3 experts (use -1 for a dropped token)"));
  }

  // Three probe sequences of two tokens, two layers of 3 experts, with their texts, choices,
  // weights and tasks recorded: the view browses them.
  static TokenRouting browsableRouting() {
    TokenRouting r;
    r.layers = 2;
    r.experts = {3, 3};
    r.sequences = 3;
    r.probeTokens = {"a", "b", "c", "d", "e", "f"};
    r.probeChosen = {{0, 1, 2, -1, 1, 0}, {1, 1, 0, 2, 2, 0}};
    r.probeWeight = {{1.0f, 0.5f, 1.0f, 0.0f, 0.25f, 1.0f}, {1.0f, 1.0f, 0.75f, 1.0f, 1.0f, 0.5f}};
    r.sequenceGroup = {2, 0, -1};
    r.tokens = {"a", "b"};
    r.chosen = {{0, 1}, {1, 1}};
    r.weight = {{1.0f, 0.5f}, {1.0f, 1.0f}};
    r.flow = routingFlow(r.probeChosen, r.experts);
    return r;
  }

  void probeSequencesCanBeBrowsed() {
    const TokenRouting r = browsableRouting();
    QCOMPARE(tokenRoutingProblem(r), std::string());
    QCOMPARE(browsableSequences(r), 3);
    const TokenRouting second = withSampleSequence(r, 1);
    QCOMPARE(second.tokens, (std::vector<std::string>{"c", "d"}));
    QCOMPARE(second.chosen, (std::vector<std::vector<int>>{{2, -1}, {0, 2}}));
    QCOMPARE(second.weight, (std::vector<std::vector<float>>{{1.0f, 0.0f}, {0.75f, 1.0f}}));
    QCOMPARE(second.flow, r.flow);
    QCOMPARE(withSampleSequence(r, 0), r);
    QCOMPARE(errorOf([&] { withSampleSequence(r, 3); }), std::string("token routing: probe sequence 3 is not one of the 3 that can be shown"));
    TokenRouting bare = r;  // only the sample recorded: nothing to browse
    bare.probeTokens.clear();
    QCOMPARE(browsableSequences(bare), 1);
    TokenRouting bad = r;
    bad.probeTokens.pop_back();
    QCOMPARE(tokenRoutingProblem(bad), std::string("the probe lists 5 token texts and 6 choices for 3 sequences of 2 tokens"));
    bad = r;
    bad.sequenceGroup.pop_back();
    QCOMPARE(tokenRoutingProblem(bad), std::string("sequenceGroup has 2 entries for 3 sequences"));

    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    RunSnapshot snap = snapshotWith(r);
    snap.groupKind = "task";
    snap.groupNames = {"copy", "reverse", "sort"};
    view.showSnapshot(snap);
    QCOMPARE(view.sequenceCount(), 3);
    QCOMPARE(view.titleText(), QString("Token routing of probe sequence 1 of 3 · task sort (2 tokens) · step 1200"));
    // The ▶ button shows the next sequence: its cells are its tokens' experts.
    QVERIFY(!view.browseButton(true).isEmpty());
    QTest::mouseClick(&view, Qt::LeftButton, {}, view.browseButton(true).center());
    QCOMPARE(view.sampleSequence(), 1);
    QCOMPARE(view.titleText(), QString("Token routing of probe sequence 2 of 3 · task copy (2 tokens) · step 1200"));
    QImage image = grabView(view, "browse_second");
    QCOMPARE(cornerPixel(image, view.tokenCellRect(0, 0)), TokenRoutingView::tokenFill(2, 1.0f).rgb());
    QCOMPARE(cornerPixel(image, view.tokenCellRect(1, 0)), TokenRoutingView::tokenFill(0, 0.75f).rgb());
    QVERIFY(view.tooltipAt(view.tokenCellRect(0, 1).center()).startsWith("token “d” · position 1\nlayer 1 · dropped"));
    // With every choice recorded (top-2 here), the tooltip lists both experts and the dropped one.
    {
      TokenRouting top2 = r;
      top2.choicesPerToken = {2, 2};
      top2.probeChoices.assign(2, std::vector<RoutedChoice>(12));
      top2.probeChoices[0][2 * 2] = {2, 0.7f, true};   // sequence 2's first token (row 2), layer 1
      top2.probeChoices[0][2 * 2 + 1] = {0, 0.3f, false};
      QCOMPARE(tokenRoutingProblem(top2), std::string());
      view.showSnapshot(snapshotWith(top2, 1250));
      QVERIFY2(view.tooltipAt(view.tokenCellRect(0, 0).center())
                   .contains("layer 1 · expert 2 (0.700) + expert 0 (0.300, dropped)"),
               qPrintable(view.tooltipAt(view.tokenCellRect(0, 0).center())));
      view.showSnapshot(snapshotWith(r));
    }
    // A selection refers to probe rows: row 2 is this sequence's first token.
    view.setSelectedRows({2});
    QVERIFY(view.tokenSelected(0) && !view.tokenSelected(1));
    view.setSelectedRows({});
    // A click on a token asks for its probe row alone; Ctrl+click adds or removes it; a click on
    // the only selected token asks for none.
    QSignalSpy picked(&view, &TokenRoutingView::rowsPicked);
    QTest::mouseClick(&view, Qt::LeftButton, {}, view.tokenCellRect(1, 1).center());
    QCOMPARE(picked.count(), 1);
    QCOMPARE(picked.takeFirst().at(0).value<QVector<int>>(), QVector<int>({3}));
    view.setSelectedRows({3});  // as the window hands the selection back
    QTest::mouseClick(&view, Qt::LeftButton, Qt::ControlModifier, view.tokenCellRect(0, 0).center());
    QCOMPARE(picked.takeFirst().at(0).value<QVector<int>>(), QVector<int>({3, 2}));
    view.setSelectedRows({2, 3});
    QTest::mouseClick(&view, Qt::LeftButton, Qt::ControlModifier, view.tokenCellRect(0, 1).center());
    QCOMPARE(picked.takeFirst().at(0).value<QVector<int>>(), QVector<int>({2}));
    view.setSelectedRows({2});
    QTest::mouseClick(&view, Qt::LeftButton, {}, view.tokenCellRect(0, 0).center());
    QCOMPARE(picked.takeFirst().at(0).value<QVector<int>>(), QVector<int>());
    view.setSelectedRows({});
    // Keys: → to the last (no group: no group in the title), → stays, Home back to the first.
    QTest::keyClick(&view, Qt::Key_Right);
    QCOMPARE(view.sampleSequence(), 2);
    QCOMPARE(view.titleText(), QString("Token routing of probe sequence 3 of 3 (2 tokens) · step 1200"));
    QTest::keyClick(&view, Qt::Key_Right);
    QCOMPARE(view.sampleSequence(), 2);
    QTest::keyClick(&view, Qt::Key_Home);
    QCOMPARE(view.sampleSequence(), 0);
    QTest::keyClick(&view, Qt::Key_End);
    QCOMPARE(view.sampleSequence(), 2);
    // A later snapshot keeps the sequence; one with fewer sequences clamps it.
    view.showSnapshot(snapshotWith(r, 1300));
    QCOMPARE(view.sampleSequence(), 2);
    view.showSnapshot(snapshotWith(bare, 1400));
    QCOMPARE(view.sampleSequence(), 0);
    QVERIFY(view.browseButton(true).isEmpty());
    QCOMPARE(view.titleText(), QString("Token routing of a sample sequence · class 2 (2 tokens) · step 1400"));
  }

  void selectedTokensAreOutlinedAndTheOthersFade() {
    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    TokenRouting r = smallRouting();
    r.probeChosen = r.chosen;
    view.showSnapshot(snapshotWith(r));
    view.setSelectedRows({1, 2});
    const QImage image = grabView(view, "small_selection");
    // Selected: the token's own fill, and the selection's black outline just outside the cell.
    QCOMPARE(cornerPixel(image, view.tokenCellRect(0, 1)), TokenRoutingView::tokenFill(1, 0.62f).rgb());
    const QRect selected = view.tokenCellRect(0, 1);
    QCOMPARE(image.pixel(selected.left() - 1, selected.center().y()), qRgb(0, 0, 0));
    // Not selected: 70% of the way to white (±1 per channel for rounding), and no outline.
    const QColor full = TokenRoutingView::tokenFill(0, 1.0f);
    const QRgb faded = cornerPixel(image, view.tokenCellRect(0, 0));
    for (auto [got, channel] : {std::pair{qRed(faded), full.red()}, {qGreen(faded), full.green()}, {qBlue(faded), full.blue()}})
      QVERIFY2(std::abs(got - (channel + (255 - channel) * 0.7)) <= 1.0, qPrintable(rgb(faded)));
    const QRect other = view.tokenCellRect(0, 5);
    QVERIFY2(qGray(image.pixel(other.left() - 1, other.center().y())) > 200, qPrintable(rgb(image.pixel(other.left() - 1, other.center().y()))));
    // Cleared: full colours again.
    view.setSelectedRows({});
    const QImage after = grabView(view, "small_selection_cleared");
    QCOMPARE(cornerPixel(after, view.tokenCellRect(0, 0)), full.rgb());
  }

  void routingProblemsAreNamed() {
    QCOMPARE(tokenRoutingProblem(smallRouting()), std::string());
    TokenRouting r = smallRouting();
    r.flow.clear();  // before the first probe pass: drawable, without the flow
    QCOMPARE(tokenRoutingProblem(r), std::string());
    r = smallRouting();
    r.layers = 3;
    QCOMPARE(tokenRoutingProblem(r), std::string("experts lists 2 layers but layers = 3"));
    r = smallRouting();
    r.chosen[1][2] = 4;
    QCOMPARE(tokenRoutingProblem(r), std::string("chosen[1][2] = 4 but layer 2 has 4 experts (use -1 for a dropped token)"));
    r = smallRouting();
    r.weight[0].pop_back();
    QCOMPARE(tokenRoutingProblem(r), std::string("weight[0] has 5 tokens but the sequence has 6"));
    r = smallRouting();
    r.tokens.push_back("d");
    QCOMPARE(tokenRoutingProblem(r), std::string("chosen[0] has 6 tokens but 7 were expected"));
    r = smallRouting();
    r.flow[0][1][2] = -1;
    QCOMPARE(tokenRoutingProblem(r), std::string("flow[0][1][2] = -1 is not a token count"));
  }

  void noteWithoutTokenRouting() {
    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    RunSnapshot s;  // an MLP run: no token routing
    s.step = 10;
    view.showSnapshot(s);
    QVERIFY(!view.showsRouting());
    QCOMPARE(view.noteText(), QString("Token routing needs a Transformer model (model.kind transformer)."));
    QVERIFY(view.tokenCellRect(0, 0).isEmpty());
    QVERIFY(view.tooltipAt(QPoint(350, 250)).isEmpty());
    const QImage image = grabView(view, "note");
    QVERIFY(inkFraction(image) > 0.001);  // the note is drawn
    QVERIFY(inkFraction(image) < 0.05);   // and nothing else

    // Routing arrives, then goes away again (a new MLP run).
    view.showSnapshot(snapshotWith(smallRouting()));
    QVERIFY(view.showsRouting());
    QVERIFY(!view.tokenCellRect(0, 0).isEmpty());
    view.showSnapshot(s);
    QVERIFY(!view.showsRouting());
  }

  void inconsistentRoutingShowsTheProblem() {
    TokenRoutingView view;
    view.resize(700, 500);
    TokenRouting r = smallRouting();
    r.chosen[0][3] = 7;
    view.showSnapshot(snapshotWith(r));
    QVERIFY(!view.showsRouting());
    QVERIFY2(view.noteText().contains("chosen[0][3] = 7 but layer 1 has 4 experts"), qPrintable(view.noteText()));
    QVERIFY(!view.grab().isNull());  // paints without touching the bad data
  }

  void cellsAreFilledWithTheChosenExpertsColour() {
    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const TokenRouting r = smallRouting();
    view.showSnapshot(snapshotWith(r));
    QCOMPARE(view.shownTokens(), 6);
    const QImage image = grabView(view, "small");
    for (int l = 0; l < 2; ++l)
      for (int t = 0; t < 6; ++t) {
        const int e = r.chosen[l][t];
        if (e < 0) continue;
        const QRect cell = view.tokenCellRect(l, t);
        QVERIFY(cell.width() >= 20 && cell.height() >= 14);
        const QRgb px = cornerPixel(image, cell);
        const QColor expert = expertColor(e);
        const float w = r.weight[l][t];
        const QString where = QString("layer %1 token %2 expert %3 weight %4: pixel %5, palette %6")
                                  .arg(l).arg(t).arg(e).arg(w).arg(rgb(px)).arg(rgb(expert.rgb()));
        if (w == 1.0f) {
          // Full gate weight: exactly the palette colour.
          QVERIFY2(px == expert.rgb(), qPrintable(where));
          continue;
        }
        // Lower weights: the same hue mixed with white, by one common fraction s in every channel
        // (s = 0.3 + 0.7 w; rounding to 8 bits allows ±1 per channel).
        const double s = 0.3 + 0.7 * w;
        for (auto [got, full] : {std::pair{qRed(px), expert.red()}, {qGreen(px), expert.green()}, {qBlue(px), expert.blue()}})
          QVERIFY2(std::abs(got - (255 + (full - 255) * s)) <= 1.0, qPrintable(where));
        QVERIFY2(qGray(px) > qGray(expert.rgb()), qPrintable(where));  // paler than full weight
      }
    // Same expert, lower weight: paler cell (tokens 1 and 2 both chose expert 1 at layer 1).
    QVERIFY(qGray(cornerPixel(image, view.tokenCellRect(0, 2))) > qGray(cornerPixel(image, view.tokenCellRect(0, 1))));
    // The view's own fill function agrees with the pixels.
    QCOMPARE(cornerPixel(image, view.tokenCellRect(1, 2)), TokenRoutingView::tokenFill(2, 0.5f).rgb());
  }

  void droppedTokensAreHatched() {
    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const TokenRouting r = smallRouting();
    view.showSnapshot(snapshotWith(r));
    const QImage image = grabView(view, "small_dropped");
    for (auto [l, t] : {std::pair{0, 4}, std::pair{1, 3}}) {
      const QRect cell = view.tokenCellRect(l, t);
      QVERIFY(!cell.isEmpty());
      // A hatched cell: white and grey pixels, and no pixel of any expert's colour.
      int whiteCount = 0, greyCount = 0;
      for (int y = cell.top() + 2; y < cell.bottom() - 1; ++y)
        for (int x = cell.left() + 2; x < cell.right() - 1; ++x) {
          const QRgb px = image.pixel(x, y);
          const bool neutral = std::abs(qRed(px) - qGreen(px)) <= 3 && std::abs(qGreen(px) - qBlue(px)) <= 3;
          QVERIFY2(neutral, qPrintable(QString("layer %1 token %2: pixel %3 at (%4, %5) is coloured").arg(l).arg(t).arg(rgb(px)).arg(x).arg(y)));
          if (qGray(px) >= 250) ++whiteCount;
          else if (qGray(px) < 230) ++greyCount;
        }
      const int area = (cell.width() - 3) * (cell.height() - 3);
      QVERIFY2(whiteCount > area / 4 && greyCount > area / 20,
               qPrintable(QString("layer %1 token %2: %3 white, %4 grey of %5").arg(l).arg(t).arg(whiteCount).arg(greyCount).arg(area)));
      // Unlike a routed cell's uniform fill.
      QVERIFY(cornerPixel(image, cell) != cornerPixel(image, view.tokenCellRect(l, t == 4 ? 5 : 2)));
    }
    // Expert 7's palette colour is grey: a dropped cell must not look like a solid fill of it.
    QVERIFY(expertColor(7).rgb() != cornerPixel(image, view.tokenCellRect(0, 4)));
  }

  void tooltipDescribesTheToken() {
    TokenRoutingView view;
    view.resize(700, 500);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(snapshotWith(smallRouting()));
    const QString tip = view.tooltipAt(view.tokenCellRect(0, 1).center());
    QCOMPARE(tip, QString("token “b” · position 1\nlayer 1 · expert 1 · gate weight 0.620\nexperts by layer: 1 → 2"));
    QCOMPARE(view.tooltipAt(view.tokenCellRect(0, 4).center()),
             QString("token “␣” · position 4\nlayer 1 · dropped (over capacity or not routed)\nexperts by layer: dropped → 0"));
    // The flow from the sample alone: layer-1 expert 1 holds tokens 1 and 2, both → expert 2.
    QCOMPARE(view.tooltipAt(view.flowCellRect(0, 1, 2).center()), QString("layer 1 expert 1 → layer 2 expert 2\n2 of 2 tokens (100.0%)"));
    QVERIFY(view.tooltipAt(QPoint(2, 2)).isEmpty());

    // A real hover shows the same text and outlines the token.
    const QPoint at = view.tokenCellRect(1, 5).center();
    QTest::mouseMove(&view, at);
    QTRY_VERIFY(QToolTip::isVisible());
    QCOMPARE(QToolTip::text(), view.tooltipAt(at));
    QVERIFY(QToolTip::text().contains("layer 2 · expert 1 · gate weight 1.000"));
    // The hovered token is outlined through every layer: dark pixels just outside its cells.
    const QImage hovered = grabView(view, "small_hover");
    const QRect cell = view.tokenCellRect(0, 5);
    QVERIFY2(qGray(hovered.pixel(cell.left() - 1, cell.center().y())) < 100, qPrintable(rgb(hovered.pixel(cell.left() - 1, cell.center().y()))));
    QTest::mouseMove(&view, QPoint(2, 2));
    QTRY_VERIFY(!QToolTip::isVisible());
    QVERIFY(qGray(grabView(view, "small_unhovered").pixel(cell.left() - 1, cell.center().y())) > 200);
  }

  void exportsWriteVectorAndPixels() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    TokenRoutingView view;
    view.resize(700, 500);
    const TokenRouting r = syntheticRouting(2, 8, 32, 64, 7);
    view.showSnapshot(snapshotWith(r));
    for (const QString suffix : {"png", "svg", "pdf"}) {
      const QString path = dir.filePath(view.title() + "." + suffix);
      QCOMPARE(view.exportFigure(path), QString());
      if (const QString shots = qEnvironmentVariable("ROUTELAB_TOKEN_ROUTING_SHOTS"); !shots.isEmpty()) {
        QDir().mkpath(shots);
        QFile::remove(shots + "/export." + suffix);
        QFile::copy(path, shots + "/export." + suffix);
      }
      QFile file(path);
      QVERIFY(file.open(QIODevice::ReadOnly));
      const QByteArray bytes = file.readAll();
      QVERIFY2(bytes.size() > 2000, qPrintable(path));
      if (suffix == "png") {
        const QImage image(path);
        QCOMPARE(image.size(), view.size() * 2);
        QVERIFY(inkFraction(image) > 0.1);
      } else if (suffix == "svg") {
        // Vector: token texts and titles are there as text.
        QVERIFY(bytes.contains("<svg"));
        QVERIFY(bytes.contains(QString("layer 1 → layer 2").toUtf8()));
        QVERIFY(bytes.contains("Routing flow over 64 probe sequences"));
        QVERIFY(bytes.contains(">" + QString::fromStdString(r.tokens[0]).toHtmlEscaped().toUtf8() + "<"));  // "<count>"
        // Rendered back, it draws the same cells in the same colours as the screen.
        QSvgRenderer renderer(path);
        QVERIFY(renderer.isValid());
        QImage image(view.size(), QImage::Format_ARGB32);
        image.fill(Qt::white);
        QPainter painter(&image);
        renderer.render(&painter, QRectF(QPointF(), QSizeF(view.size())));
        painter.end();
        if (const QString shots = qEnvironmentVariable("ROUTELAB_TOKEN_ROUTING_SHOTS"); !shots.isEmpty())
          image.save(shots + "/export_svg_rendered.png");
        for (int t = 0; t < 32; ++t) {
          const int e = r.chosen[0][t];
          if (e < 0) continue;
          const QRgb px = cornerPixel(image, view.tokenCellRect(0, t));
          const QRgb want = TokenRoutingView::tokenFill(e, r.weight[0][t]).rgb();
          QVERIFY2(std::abs(qRed(px) - qRed(want)) <= 2 && std::abs(qGreen(px) - qGreen(want)) <= 2 && std::abs(qBlue(px) - qBlue(want)) <= 2,
                   qPrintable(QString("token %1: SVG pixel %2, screen fill %3").arg(t).arg(rgb(px)).arg(rgb(want))));
        }
      } else {
        QVERIFY(bytes.startsWith("%PDF"));
      }
    }
    // The note exports too.
    TokenRoutingView empty;
    empty.resize(400, 300);
    empty.showSnapshot(RunSnapshot{});
    QCOMPARE(empty.exportFigure(dir.filePath("note.svg")), QString());
    QVERIFY(QFile(dir.filePath("note.svg")).size() > 500);
  }

  void realisticRoutingFitsCommonSizes_data() {
    QTest::addColumn<int>("layers");
    QTest::addColumn<QSize>("size");
    QTest::newRow("2 layers 700x500") << 2 << QSize(700, 500);
    QTest::newRow("2 layers 1000x700") << 2 << QSize(1000, 700);
    QTest::newRow("4 layers 700x500") << 4 << QSize(700, 500);
    QTest::newRow("4 layers 1000x700") << 4 << QSize(1000, 700);
  }

  void realisticRoutingFitsCommonSizes() {
    QFETCH(int, layers);
    QFETCH(QSize, size);
    const TokenRouting r = syntheticRouting(layers, 8, 32, 64, 11);
    TokenRoutingView view;
    view.resize(size);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(snapshotWith(r));
    const QImage image = grabView(view, QString("synthetic_%1_layers_%2x%3").arg(layers).arg(size.width()).arg(size.height()));
    const double ink = inkFraction(image);
    QVERIFY2(ink > 0.05, qPrintable(QString("ink %1").arg(ink)));
    // Every token is drawn, inside the view, wide enough for its text.
    QCOMPARE(view.shownTokens(), 32);
    int gridBottom = 0;
    for (int l = 0; l < layers; ++l)
      for (int t = 0; t < 32; ++t) {
        const QRect cell = view.tokenCellRect(l, t);
        QVERIFY2(view.rect().contains(cell), qPrintable(QString("layer %1 token %2").arg(l).arg(t)));
        QVERIFY(cell.width() >= 22 && cell.height() >= 16);
        gridBottom = std::max(gridBottom, cell.bottom());
      }
    // Every flow cell is drawn below the grid, inside the view, big enough to read.
    for (int p = 0; p + 1 < layers; ++p)
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
          const QRect cell = view.flowCellRect(p, i, j);
          QVERIFY2(view.rect().contains(cell) && cell.top() > gridBottom,
                   qPrintable(QString("pair %1 cell (%2, %3) at (%4, %5)").arg(p).arg(i).arg(j).arg(cell.x()).arg(cell.y())));
          QVERIFY2(cell.width() >= 14, qPrintable(QString("flow cells of %1 pixels").arg(cell.width())));
        }
    // Flow cells are filled by share: the row's largest share is the darkest cell.
    const auto shares = rowShares(r.flow[0]);
    for (int i = 0; i < 8; ++i) {
      const int top = int(std::max_element(shares[i].begin(), shares[i].end()) - shares[i].begin());
      const int low = int(std::min_element(shares[i].begin(), shares[i].end()) - shares[i].begin());
      if (shares[i][top] - shares[i][low] < 0.2) continue;
      QVERIFY(qGray(cornerPixel(image, view.flowCellRect(0, i, top))) < qGray(cornerPixel(image, view.flowCellRect(0, i, low))));
    }
  }

  // The dock's share of a 1280 × 800 screen: the flow caption keeps to two lines (the room the
  // token grid leaves it), so the flow cells keep the size that fits their percentages.
  void narrowDockKeepsTheFlowReadable() {
    const TokenRouting r = syntheticRouting(2, 4, 12, 32, 5);
    TokenRoutingView view;
    view.resize(350, 340);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(snapshotWith(r));
    grabView(view, "narrow_dock_350x340");
    QVERIFY(view.shownTokens() >= 1);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const QRect cell = view.flowCellRect(0, i, j);
        QVERIFY2(view.rect().contains(cell), qPrintable(QString("cell (%1, %2)").arg(i).arg(j)));
        QVERIFY2(cell.width() >= 20 && cell.height() >= 20, qPrintable(QString("flow cells of %1 x %2 pixels").arg(cell.width()).arg(cell.height())));
      }
  }

  void longSequencesShowTheFirstTokens() {
    TokenRoutingView view;
    view.resize(700, 500);
    const TokenRouting r = syntheticRouting(4, 8, 400, 4, 3);
    view.showSnapshot(snapshotWith(r));
    const int shown = view.shownTokens();
    QVERIFY2(shown > 0 && shown < 400, qPrintable(QString::number(shown)));
    for (int l = 0; l < 4; ++l) QVERIFY(view.rect().contains(view.tokenCellRect(l, shown - 1)));
    QVERIFY(view.tokenCellRect(0, shown).isEmpty());
    QVERIFY(view.rect().contains(view.flowCellRect(2, 7, 7)));
    grabView(view, "long_sequence");
  }

  void unevenExpertCountsPerLayer() {
    // 4 experts at layer 1, 6 at layer 2: tokens 0..3 go 0 → 5, 1 → 4, 1 → 4, 3 → 0.
    TokenRouting r;
    r.tokens = {"a", "b", "c", "d"};
    r.layers = 2;
    r.experts = {4, 6};
    r.chosen = {{0, 1, 1, 3}, {5, 4, 4, 0}};
    r.weight = {{0.5f, 0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}};
    r.flow = routingFlow(r.chosen, r.experts);
    r.sequences = 1;
    TokenRoutingView view;
    view.resize(700, 500);
    view.showSnapshot(snapshotWith(r));
    QVERIFY(view.showsRouting());
    QVERIFY(view.rect().contains(view.flowCellRect(0, 3, 5)));
    QVERIFY(view.flowCellRect(0, 3, 6).isEmpty());
    QVERIFY(view.flowCellRect(0, 4, 0).isEmpty());
    QCOMPARE(view.tooltipAt(view.flowCellRect(0, 1, 4).center()), QString("layer 1 expert 1 → layer 2 expert 4\n2 of 2 tokens (100.0%)"));
    QCOMPARE(view.tooltipAt(view.flowCellRect(0, 2, 0).center()), QString("expert 2 at layer 1 received no counted tokens"));
    grabView(view, "uneven_experts");
  }

  void singleLayerHasNoFlow() {
    TokenRoutingView view;
    view.resize(700, 500);
    TokenRouting r = smallRouting();
    r.layers = 1;
    r.experts = {4};
    r.chosen.resize(1);
    r.weight.resize(1);
    r.flow.clear();
    view.showSnapshot(snapshotWith(r));
    QVERIFY(view.showsRouting());
    QVERIFY(!view.tokenCellRect(0, 5).isEmpty());
    QVERIFY(view.flowCellRect(0, 0, 0).isEmpty());
    grabView(view, "single_layer");
  }
};

QTEST_MAIN(TestTokenRoutingView)
#include "test_token_routing_view.moc"
