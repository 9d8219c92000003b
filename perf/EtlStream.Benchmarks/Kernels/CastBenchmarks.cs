using BenchmarkDotNet.Attributes;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>Each cast of the standard job, one source column at a time, over the 100,000 pre-parsed rows.</summary>
public enum CastKind
{
    Int64,
    Decimal18,
    Decimal5,
    Date,
    Timestamp,
    Bool,
    StringTrim,
    String,
}

/// <summary>The one-column table spec and source header of each <see cref="CastKind"/>.</summary>
internal static class CastKinds
{
    public static string SourceHeader(CastKind kind) => kind switch
    {
        CastKind.Int64 => "Qty",
        CastKind.Decimal18 => "Gross_Amount",
        CastKind.Decimal5 => "Discount_Pct",
        CastKind.Date => "Invoice_Date",
        CastKind.Timestamp => "Created_At",
        CastKind.Bool => "Active_Flag",
        CastKind.StringTrim or CastKind.String => "Dealer_Name",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static string SpecYaml(CastKind kind)
    {
        var column = kind switch
        {
            CastKind.Int64 => "{ name: c, source: Qty, type: int64 }",
            CastKind.Decimal18 => "{ name: c, source: Gross_Amount, type: \"decimal(18,2)\" }",
            CastKind.Decimal5 => "{ name: c, source: Discount_Pct, type: \"decimal(5,2)\" }",
            CastKind.Date => "{ name: c, source: Invoice_Date, type: date, format: dd-MM-yyyy }",
            CastKind.Timestamp => "{ name: c, source: Created_At, type: timestamp, format: \"yyyy-MM-dd HH:mm:ss\" }",
            CastKind.Bool => "{ name: c, source: Active_Flag, type: bool, true: [Y], false: [N] }",
            CastKind.StringTrim => "{ name: c, source: Dealer_Name, type: string, trim: true }",
            CastKind.String => "{ name: c, source: Dealer_Name, type: string }",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return $"table: bench\ncolumns:\n  - {column}\n";
    }
}

/// <summary>
/// <c>BoundTransform.Apply</c> with a one-column spec per cast kind, over every pre-parsed batch of the standard job
/// (full header). The transform is bound once in setup, as the pipeline binds once per file.
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.CastColumn)]
public class CastBenchmarks
{
    private ParsedCsv _parsed = null!;
    private BoundTransform _bound = null!;

    [ParamsAllValues]
    public CastKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _parsed = StandardJobData.Create().Parse();
        var spec = TableSpecReader.Read(CastKinds.SpecYaml(Kind), "bench.yaml");
        _bound = new TableTransform(spec, StandardJobData.LoadDate).Bind(StandardJobData.SourceName, _parsed.Header);
    }

    [GlobalCleanup]
    public void Cleanup() => _parsed.Dispose();

    [Benchmark]
    public long Cast()
    {
        var rows = 0L;
        foreach (var batch in _parsed.Batches)
        {
            using var result = _bound.Apply(batch);
            rows += result.Batch.Length;
        }

        return rows;
    }
}
