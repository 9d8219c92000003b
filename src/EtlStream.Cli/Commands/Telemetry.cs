using System.CommandLine;
using System.Globalization;
using System.Text;
using EtlStream.Observability;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace EtlStream.Cli.Commands;

/// <summary>
/// <c>--metrics</c>: exports the engine's <see cref="EtlStreamMetrics"/> through OpenTelemetry while a command runs.
/// <list type="bullet">
/// <item><c>console</c>: the totals, once, on stderr when the command ends (stdout keeps the summary line or the JSON alone;
/// OpenTelemetry's own console exporter can only write to stdout, so a small stderr exporter stands in for it).</item>
/// <item><c>otlp</c> or <c>otlp=&lt;endpoint&gt;</c>: pushed every 60 s and at the end to an OpenTelemetry collector; gRPC
/// (default <c>http://localhost:4317</c>), or HTTP/protobuf when the endpoint's path is <c>/v1/metrics</c>.
/// The standard <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_METRIC_EXPORT_INTERVAL</c> variables apply.</item>
/// <item><c>prometheus</c> or <c>prometheus=&lt;port&gt;</c>: served at <c>http://127.0.0.1:&lt;port&gt;/metrics</c>
/// (default port 9464) while the command runs, for scraping long backfills.</item>
/// </list>
/// </summary>
internal static class Telemetry
{
    public const int DefaultPrometheusPort = 9464;

    public static Option<string?> MetricsOption() => new("--metrics")
    {
        Description = "Export metrics: console (totals on stderr at the end), otlp[=<endpoint>] (push to a collector), prometheus[=<port>] (serve /metrics on 127.0.0.1, default 9464).",
    };

    /// <summary>Starts exporting for <paramref name="metrics"/> (an <c>--metrics</c> value); dispose to flush and stop. Null: nothing.</summary>
    /// <exception cref="ArgumentException">The value names no exporter or carries an invalid endpoint or port.</exception>
    public static IDisposable Start(string? metrics) => metrics is null ? NoTelemetry.Instance : StartExporters(metrics);

    /// <summary>Kept apart so a run without --metrics never loads (or, without tiered compilation, JITs) OpenTelemetry.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static IDisposable StartExporters(string metrics)
    {
        var (kind, argument) = metrics.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
            ? (metrics[..eq].Trim(), metrics[(eq + 1)..].Trim())
            : (metrics.Trim(), (string?)null);
        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("etlstream", serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString()))
            .AddMeter(EtlStreamMetrics.MeterName);
        switch (kind.ToLowerInvariant())
        {
            case "console" when argument is null:
                builder.AddReader(new BaseExportingMetricReader(new StderrMetricExporter(Console.Error)));
                break;
            case "otlp":
                var endpoint = argument is null ? null : OtlpEndpoint(argument);
                builder.AddOtlpExporter(o =>
                {
                    if (endpoint is not null)
                    {
                        o.Endpoint = endpoint;
                        o.Protocol = endpoint.AbsolutePath.TrimEnd('/') == "/v1/metrics" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
                    }
                });
                break;
            case "prometheus":
                var port = argument is null ? DefaultPrometheusPort : PrometheusPort(argument);
                builder.AddPrometheusHttpListener(o =>
                {
                    o.Host = "127.0.0.1";
                    o.Port = port;
                });
                break;
            default:
                throw new ArgumentException($"--metrics: '{metrics}' is not one of console, otlp[=<endpoint>], prometheus[=<port>]");
        }

        return new MeterProviderScope(builder.Build());
    }

    private static Uri OtlpEndpoint(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new ArgumentException($"--metrics: otlp endpoint '{text}' is not an http:// or https:// URL (e.g. otlp=http://localhost:4317)");

    private static int PrometheusPort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : throw new ArgumentException($"--metrics: prometheus port '{text}' is not a port number 1..65535 (e.g. prometheus=9464)");

    /// <summary>Flushes (the last push, or the console totals) and stops the exporters.</summary>
    private sealed class MeterProviderScope(MeterProvider provider) : IDisposable
    {
        public void Dispose() => provider.Dispose();
    }

    private sealed class NoTelemetry : IDisposable
    {
        public static readonly NoTelemetry Instance = new();

        public void Dispose()
        {
        }
    }

    /// <summary>Writes each metric point as one line, <c>name{tags} value unit</c>, to a text writer (stderr).</summary>
    internal sealed class StderrMetricExporter(TextWriter writer) : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch)
        {
            var sb = new StringBuilder();
            foreach (var metric in batch)
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    sb.Append(metric.Name).Append('{');
                    var first = true;
                    foreach (var tag in point.Tags)
                    {
                        sb.Append(first ? "" : ",").Append(tag.Key).Append('=').Append(Convert.ToString(tag.Value, CultureInfo.InvariantCulture));
                        first = false;
                    }

                    sb.Append("} ");
                    switch (metric.MetricType)
                    {
                        case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                            sb.Append(point.GetSumLong().ToString(CultureInfo.InvariantCulture));
                            break;
                        case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                            sb.Append(point.GetSumDouble().ToString("0.###", CultureInfo.InvariantCulture));
                            break;
                        case MetricType.LongGauge:
                            sb.Append(point.GetGaugeLastValueLong().ToString(CultureInfo.InvariantCulture));
                            break;
                        case MetricType.DoubleGauge:
                            sb.Append(point.GetGaugeLastValueDouble().ToString("0.###", CultureInfo.InvariantCulture));
                            break;
                        case MetricType.Histogram or MetricType.ExponentialHistogram:
                            sb.Append(CultureInfo.InvariantCulture, $"count={point.GetHistogramCount()} sum={point.GetHistogramSum():0.###}");
                            if (point.TryGetHistogramMinMaxValues(out var min, out var max))
                            {
                                sb.Append(CultureInfo.InvariantCulture, $" min={min:0.###} max={max:0.###}");
                            }

                            break;
                    }

                    sb.Append(' ').Append(metric.Unit).Append('\n');
                }
            }

            writer.Write(sb.ToString());
            writer.Flush();
            return ExportResult.Success;
        }
    }
}
