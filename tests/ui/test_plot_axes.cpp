// Vertical axes fitted to their axis rect's height (plot_style: setVerticalAxisLabel, stylePlot):
// the painted label stays within its rect on a short plot, the full label comes back when there is
// room (on screen and in an export), and the ticks keep a readable spacing.
#include <QImage>
#include <QPainter>
#include <QtTest>

#include <algorithm>
#include <qcustomplot.h>

#include "views/plot_style.h"

using namespace rl::ui;

namespace {

const QString kLong = QStringLiteral("task loss (log scale)");
const QString kShort = QStringLiteral("loss (log)");

// Two stacked axis rects, like the loss view: the top one's left label must not run into the
// bottom one's. `fitted` = registered through setVerticalAxisLabel, else a plain QCPAxis label.
struct TwoRects {
  QCustomPlot plot;
  QCPAxisRect* top = nullptr;
  QCPAxisRect* bottom = nullptr;

  explicit TwoRects(bool fitted) {
    top = plot.axisRect(0);
    bottom = new QCPAxisRect(&plot);
    plot.plotLayout()->addElement(1, 0, bottom);
    plot.plotLayout()->setRowSpacing(4);
    stylePlot(plot);
    QCPAxis* loss = top->axis(QCPAxis::atLeft);
    loss->setScaleType(QCPAxis::stLogarithmic);
    loss->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    loss->setRange(0.008, 1.5);
    bottom->axis(QCPAxis::atLeft)->setRange(0, 100.5);
    top->axis(QCPAxis::atBottom)->setTickLabels(false);
    if (fitted) {
      setVerticalAxisLabel(*loss, kLong, kShort);
      setVerticalAxisLabel(*bottom->axis(QCPAxis::atLeft), "accuracy (%)", "acc. %");
    } else {
      loss->setLabel(kLong);
      bottom->axis(QCPAxis::atLeft)->setLabel("accuracy (%)");
    }
  }
  void showAt(const QSize& size) {
    plot.resize(size);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    plot.replot(QCustomPlot::rpImmediateRefresh);
  }
};

bool inked(QRgb p) { return qRed(p) < 200 || qGreen(p) < 200 || qBlue(p) < 200; }

// Rows of the left label column (from the plot's left edge to one label-font height in, where
// only the rotated labels are drawn) that carry ink outside both rects' vertical extents.
int inkOutsideRects(const QImage& image, const TwoRects& t) {
  const int column = QFontMetrics(t.top->axis(QCPAxis::atLeft)->labelFont()).height() + 2;
  int rows = 0;
  for (int y = 0; y < image.height(); ++y) {
    const bool inRect = (y >= t.top->top() && y <= t.top->bottom()) || (y >= t.bottom->top() && y <= t.bottom->bottom());
    if (inRect) continue;
    for (int x = 0; x < column; ++x)
      if (inked(image.pixel(x, y))) {
        ++rows;
        break;
      }
  }
  return rows;
}

// The extent (rows) of ink in the left label column within [y0, y1].
int inkExtent(const QImage& image, int column, int y0, int y1) {
  int first = -1, last = -1;
  for (int y = y0; y <= y1; ++y)
    for (int x = 0; x < column; ++x)
      if (inked(image.pixel(x, y))) {
        if (first < 0) first = y;
        last = y;
        break;
      }
  return first < 0 ? 0 : last - first + 1;
}

// Smallest pixel distance between neighbouring major ticks of `axis` as laid out now.
double smallestTickGap(QCPAxis* axis) {
  const QVector<double> ticks = axis->tickVector();
  double gap = 1e9;
  for (int i = 1; i < ticks.size(); ++i)
    gap = std::min(gap, std::abs(axis->coordToPixel(ticks[i]) - axis->coordToPixel(ticks[i - 1])));
  return gap;
}

// The least distance between neighbouring ticks at which their labels stay apart and readable.
double tickLabelGap(const QCPAxis* axis) { return QFontMetrics(axis->tickLabelFont()).height() + 4; }

}  // namespace

class TestPlotAxes : public QObject {
  Q_OBJECT

 private slots:
  void shortPlotKeepsLabelsInsideTheirRects() {
    TwoRects fitted(true);
    fitted.showAt(QSize(340, 150));
    QCPAxis* loss = fitted.top->axis(QCPAxis::atLeft);
    const QFontMetrics metrics(loss->labelFont());
    // The premise: the full label is longer than the rect is tall.
    QVERIFY2(metrics.horizontalAdvance(kLong) > fitted.top->height(),
             qPrintable(QString("rect height %1").arg(fitted.top->height())));
    QVERIFY(loss->label() != kLong);
    QVERIFY(metrics.horizontalAdvance(loss->label()) <= fitted.top->height());
    QCOMPARE(fullAxisLabel(*loss), kLong);
    const QImage shot = fitted.plot.grab().toImage();
    QCOMPARE(inkOutsideRects(shot, fitted), 0);

    // The same check on plain labels finds the overflow, so it can tell.
    TwoRects plain(false);
    plain.showAt(QSize(340, 150));
    QVERIFY(inkOutsideRects(plain.plot.grab().toImage(), plain) > 3);
  }

  void roomyPlotShowsFullLabels() {
    TwoRects t(true);
    t.showAt(QSize(340, 150));
    QVERIFY(t.top->axis(QCPAxis::atLeft)->label() != kLong);
    t.showAt(QSize(340, 500));  // taller: the full labels return
    QCOMPARE(t.top->axis(QCPAxis::atLeft)->label(), kLong);
    QCOMPARE(t.bottom->axis(QCPAxis::atLeft)->label(), QString("accuracy (%)"));
  }

  void exportAtATallSizeGetsTheFullLabel() {
    TwoRects t(true);
    t.showAt(QSize(340, 150));
    const QString onScreen = t.top->axis(QCPAxis::atLeft)->label();
    QVERIFY(onScreen != kLong);

    QImage image(340, 500, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter painter(&image);
    paintPlotVector(painter, t.plot, image.rect());
    painter.end();
    // The export's top rect is laid out at the export's size; its painted label is as long as
    // the full label, not the short one.
    const QFontMetrics metrics(t.top->axis(QCPAxis::atLeft)->labelFont());
    const int column = metrics.height() + 2;
    const int extent = inkExtent(image, column, 0, image.height() / 2);
    QVERIFY2(extent > metrics.horizontalAdvance(kShort) + 20,
             qPrintable(QString("painted %1 px; full %2, short %3").arg(extent)
                            .arg(metrics.horizontalAdvance(kLong)).arg(metrics.horizontalAdvance(kShort))));
    QVERIFY(std::abs(extent - metrics.horizontalAdvance(kLong)) <= 4);

    // Back on screen (the export queues a replot at the widget's size): the short form again.
    QTRY_COMPARE(t.top->axis(QCPAxis::atLeft)->label(), onScreen);
  }

  void ticksKeepReadableSpacing() {
    TwoRects t(true);
    t.showAt(QSize(340, 150));
    // QCustomPlot's default count (5) puts 0, 20, ..., 100 on 0..100.5: 8 px apart in this
    // 40 px rect (measured fitted: 0, 50, 100, 20 px apart). A label needs its height plus a gap.
    const double minGap = tickLabelGap(t.bottom->axis(QCPAxis::atLeft));
    for (QCPAxisRect* r : {t.top, t.bottom}) {
      QCPAxis* axis = r->axis(QCPAxis::atLeft);
      QVERIFY2(axis->tickVector().size() >= 2, qPrintable(axis->label()));
      QVERIFY2(smallestTickGap(axis) >= minGap,
               qPrintable(QString("%1: gap %2 px in %3 px").arg(axis->label()).arg(smallestTickGap(axis)).arg(r->height())));
    }
    // A tall plot gets the ticker's own count back (5 on 0..100.5: 0, 20, ..., 100).
    t.showAt(QSize(340, 700));
    QCOMPARE(t.bottom->axis(QCPAxis::atLeft)->ticker()->tickCount(), 5);
    QVERIFY(t.bottom->axis(QCPAxis::atLeft)->tickVector().size() >= 5);
  }

  // The loss view asks for 8 step ticks; on a narrow dock "100125150175..." ran together.
  void horizontalTicksLeaveRoomForTheirLabels() {
    TwoRects t(true);
    QCPAxis* steps = t.bottom->axis(QCPAxis::atBottom);
    steps->ticker()->setTickCount(8);
    steps->setRange(1, 20000);
    t.showAt(QSize(300, 300));
    const QFontMetrics metrics(steps->tickLabelFont());
    int widest = 0;
    for (const QString& label : steps->tickVectorLabels()) widest = std::max(widest, metrics.horizontalAdvance(label));
    QVERIFY(steps->tickVector().size() >= 2);
    QVERIFY2(smallestTickGap(steps) >= widest + 4,
             qPrintable(QString("gap %1 px, labels up to %2 px wide, in %3 px").arg(smallestTickGap(steps)).arg(widest).arg(t.bottom->width())));
    t.showAt(QSize(1000, 300));  // wide: the view's 8 again
    QCOMPARE(steps->ticker()->tickCount(), 8);
  }

  void replacedTickerIsFittedToo() {
    TwoRects t(true);
    t.showAt(QSize(340, 150));
    QCPAxis* axis = t.top->axis(QCPAxis::atLeft);
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());  // as the loss view does
    axis->setRange(0, 1.05);
    t.plot.replot(QCustomPlot::rpImmediateRefresh);
    QVERIFY(axis->ticker()->tickCount() < 5);
    QVERIFY2(smallestTickGap(axis) >= tickLabelGap(axis), qPrintable(QString::number(smallestTickGap(axis))));
  }
};

QTEST_MAIN(TestPlotAxes)
#include "test_plot_axes.moc"
