using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>What one op of a kernel benchmark processes, for the MB/s, rows/s and B/row columns.</summary>
public enum KernelWorkload
{
    /// <summary>The whole standard-job CSV; rows are the input records.</summary>
    InputCsv,

    /// <summary>One source column's field values (the benchmark's <c>Kind</c> parameter names it); rows are the input records.</summary>
    CastColumn,

    /// <summary>Rows written after the job's <c>qty != 0</c> filter; bytes are the whole CSV those rows came from.</summary>
    OutputRows,

    /// <summary>The same rows as JSON Lines (STANDARD_JOB.md); rows are the input records.</summary>
    InputJsonLines,
}

/// <summary>Names what one op of the benchmarks in a class (or one method) processes.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = false)]
public sealed class KernelWorkloadAttribute(KernelWorkload workload) : Attribute
{
    public KernelWorkload Workload { get; } = workload;
}

/// <summary>
/// MB/s, rows/s and allocated bytes per row, from the mean time and the Allocated figure of each benchmark. Sizes
/// come from <see cref="StandardJobData.Sizes"/>, which the host process computes from the same deterministic input
/// the benchmark processes use.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    public static readonly IColumn MegabytesPerSecond = new ThroughputColumn(
        "MB/s",
        "Uncompressed CSV MB (10^6 bytes) per second: the whole 100,000-row input for parse, transform, Parquet write and CSV encode (for the last two, the CSV the written rows came from); for a cast, that one column's field bytes");

    public static readonly IColumn RowsPerSecond = new ThroughputColumn(
        "rows/s",
        "Rows per second: input records for parse, casts and transforms; rows written (after the qty != 0 filter) for Parquet write and CSV encode");

    public static readonly IColumn AllocatedPerRow = new ThroughputColumn(
        "B/row",
        "Allocated managed bytes per op / rows per op (same rows as rows/s); well below 1 means nothing is allocated per row");

    private ThroughputColumn(string name, string legend)
    {
        ColumnName = name;
        Legend = legend;
    }

    public string Id => nameof(ThroughputColumn) + "." + ColumnName;

    public string ColumnName { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend { get; }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats || Sizes(benchmarkCase) is not var (bytes, rows) || rows == 0)
        {
            return "NA";
        }

        var seconds = stats.Mean / 1e9;
        var culture = CultureInfo.InvariantCulture;
        switch (ColumnName)
        {
            case "MB/s":
                return (bytes / 1e6 / seconds).ToString("N1", culture);
            case "rows/s":
                return (rows / seconds).ToString("N0", culture);
            default:
                return report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase) is { } allocated
                    ? ((double)allocated / rows).ToString("N3", culture)
                    : "NA";
        }
    }

    public override string ToString() => ColumnName;

    /// <summary>Bytes and rows one op of <paramref name="benchmarkCase"/> processes.</summary>
    internal static (long Bytes, long Rows)? Sizes(BenchmarkCase benchmarkCase)
    {
        var attribute = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<KernelWorkloadAttribute>()
            ?? benchmarkCase.Descriptor.Type.GetCustomAttribute<KernelWorkloadAttribute>();
        if (attribute is null)
        {
            return null;
        }

        var sizes = StandardJobData.Sizes;
        return attribute.Workload switch
        {
            KernelWorkload.InputCsv => (sizes.CsvBytes, sizes.Rows),
            KernelWorkload.OutputRows => (sizes.CsvBytes, sizes.KeptRows),
            KernelWorkload.InputJsonLines => (StandardJobData.JsonLinesBytes, sizes.Rows),
            KernelWorkload.CastColumn when benchmarkCase.Parameters["Kind"] is CastKind kind
                => (sizes.ColumnBytes[CastKinds.SourceHeader(kind)], sizes.Rows),
            _ => null,
        };
    }
}
