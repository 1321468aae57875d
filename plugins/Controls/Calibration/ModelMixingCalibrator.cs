using System.Globalization;

namespace Unlearn.Plugins.Controls.Calibration;

/// <summary>Model-mixing calibration (spec §5): θ(α) = (1 − α)·θ_orig + α·θ_unl. If θ_unl meets the bar
/// τ·M(θ_orig) on the retain metric, α* = 1; otherwise α is binary-searched in [0, 1] for the largest α with
/// M(θ(α)) ≥ τ·M(θ_orig). Every visited α is kept, in visiting order, with its retain (and forget) value, and points
/// that contradict the expected monotone decrease of M in α are flagged.</summary>
public sealed class ModelMixingCalibrator : ICalibrator
{
    private readonly ModelMixingOptions _options;

    /// <summary>Creates the calibrator with validated options.</summary>
    public ModelMixingCalibrator(ModelMixingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid model-mixing options: " + string.Join("; ", problems), nameof(options));
        _options = options;
    }

    /// <inheritdoc />
    public CalibrationResult Calibrate(CalibrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var o = _options;
        var token = context.CancellationToken;

        token.ThrowIfCancellationRequested();
        var original = context.Evaluate(context.Original, o.Metric, o.Split, o.ProbeSize);
        if (!double.IsFinite(original))
            throw new CalibrationException(Text($"{o.Metric} on {o.Split} of the original model is {original}: the bar τ·M(θ_orig) cannot be set (is the split empty or the metric broken?)."));
        var target = o.Tau * original;
        context.Report(Text($"model-mixing: {o.Metric} on {o.Split} of the original = {original:0.####}, target = {o.Tau:0.###} x {original:0.####} = {target:0.####}"));

        var search = new Search(context, o, target);

        // α = 1: the unlearned model itself.
        var atOne = search.Visit(1.0, context.Unlearned);
        if (atOne.Retain >= target)
        {
            return search.Result(1.0, original, Text(
                $"unlearned model already meets the bar ({o.Metric} on {o.Split} {atOne.Retain:0.####} >= target {target:0.####}); α* = 1, no mixing needed."));
        }

        // α = 0 must meet the bar: θ(0) is θ_orig.
        var atZero = search.Visit(0.0, context.Mix(0.0));
        if (!(atZero.Retain >= target))
        {
            throw new CalibrationException(Text(
                $"τ·M(θ_orig) is not met by the original itself: {o.Metric} on {o.Split} is {atZero.Retain:0.######} at α = 0 but {original:0.######} for θ_orig, target {target:0.######} (τ = {o.Tau}). The metric or data is bad: is the metric noisy or non-deterministic, the probe too small, or the mixed model not θ_orig at α = 0?"));
        }

        double lo = 0.0, hi = 1.0;
        while (hi - lo >= o.Tolerance && search.Evaluations < o.MaxEvaluations)
        {
            var alpha = (lo + hi) / 2;
            var point = search.Visit(alpha, context.Mix(alpha));
            if (point.Retain >= target) lo = alpha;
            else hi = alpha;
        }

        var best = search.Points.Last(p => p.Alpha == lo);
        var nonMonotone = search.Points.Count(p => p.NonMonotone);
        var budget = hi - lo >= o.Tolerance
            ? Text($"; the budget of {o.MaxEvaluations} evaluations ran out before the bracket reached the tolerance {o.Tolerance}")
            : "";
        var monotone = nonMonotone == 0 ? "" : Text($"; {nonMonotone} non-monotone point(s) flagged, the curve is noisy");
        var what = lo == 0.0
            ? Text($"no mixture with α >= {hi:0.######} meets the bar; α* = 0 is the original model")
            : Text($"α* = {lo:0.######} ({o.Metric} on {o.Split} {best.Retain:0.####} >= target {target:0.####})");
        return search.Result(lo, original, Text($"binary search over α: {what}, bracket [{lo:0.######}, {hi:0.######}] after {search.Evaluations} evaluations{budget}{monotone}."));
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The visited curve of one calibration.</summary>
    private sealed class Search(CalibrationContext context, ModelMixingOptions options, double target)
    {
        private readonly List<CalibrationPoint> _points = [];

        public IReadOnlyList<CalibrationPoint> Points => _points;

        /// <summary>Retain evaluations of mixed models spent so far.</summary>
        public int Evaluations => _points.Count;

        public CalibrationPoint Visit(double alpha, ILanguageModel model)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var retain = context.Evaluate(model, options.Metric, options.Split, options.ProbeSize);
            double? forget = null;
            if (!string.IsNullOrEmpty(options.ForgetSplit))
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                forget = context.Evaluate(model, options.Metric, options.ForgetSplit, options.ProbeSize);
            }
            var point = new CalibrationPoint(alpha, retain, forget, BreaksMonotonicity(alpha, retain));
            _points.Add(point);
            var forgetText = forget is { } f ? Text($" forget={f:0.####}") : "";
            var flag = point.NonMonotone ? " (non-monotone)" : "";
            context.Report(Text($"model-mixing: α={alpha:0.######} retain={retain:0.####}{forgetText} target={target:0.####}{flag}"));
            return point;
        }

        /// <summary>M should fall as α grows. A point is inconsistent with an earlier one when the larger α has the
        /// larger value beyond the tolerance, or when the larger α meets the bar and the smaller one does not.</summary>
        private bool BreaksMonotonicity(double alpha, double retain)
        {
            if (double.IsNaN(retain)) return _points.Count > 0;
            foreach (var p in _points)
            {
                if (p.Alpha == alpha)
                {
                    if (Math.Abs(p.Retain - retain) > options.MonotonicityTolerance) return true;
                    continue;
                }
                var (low, high) = p.Alpha < alpha ? (p.Retain, retain) : (retain, p.Retain);
                if (high > low + options.MonotonicityTolerance) return true;
                if (high >= target && !(low >= target)) return true;
            }
            return false;
        }

        public CalibrationResult Result(double alpha, double original, string note) =>
            new(alpha, original, target, _points.ToList(), Evaluations, note)
            {
                Bar = new CalibrationBar(options.Metric, options.Split, string.IsNullOrEmpty(options.ForgetSplit) ? null : options.ForgetSplit, options.Tau),
            };
    }
}
