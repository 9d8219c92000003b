using BenchmarkDotNet.Attributes;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>Which table spec <see cref="TransformBenchmarks"/> applies.</summary>
public enum TransformVariant
{
    /// <summary>The standard job: 23 columns, casts, trim, the <c>invoice_key</c> concat, the <c>qty != 0</c> filter.</summary>
    Full,

    /// <summary><c>qty</c> as int64 with the <c>qty != 0</c> filter; minus Cast(Int64) it is the filter's cost.</summary>
    Filter,

    /// <summary><c>invoice_key</c> = <c>dealer_code || '|' || invoice_no</c> plus its two inputs; minus <see cref="KeyInputs"/> it is the concat's cost.</summary>
    Key,

    /// <summary>The key's two input columns as plain strings, the baseline for <see cref="Key"/>.</summary>
    KeyInputs,
}

/// <summary>The whole standard-job transform, and its filter and key parts, over the 100,000 pre-parsed rows.</summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.InputCsv)]
public class TransformBenchmarks
{
    private const string FilterYaml = """
        table: bench
        columns:
          - { name: qty, type: int64 }
        filter:
          - { column: qty, op: "!=", value: 0 }
        """;

    private const string KeyYaml = """
        table: bench
        columns:
          - name: invoice_key
            type: varchar(32)
            computed: { concat: [dealer_code, invoice_no], separator: "|" }
          - { name: invoice_no, type: varchar(16) }
          - { name: dealer_code, type: varchar(16) }
        """;

    private const string KeyInputsYaml = """
        table: bench
        columns:
          - { name: invoice_no, type: varchar(16) }
          - { name: dealer_code, type: varchar(16) }
        """;

    private ParsedCsv _parsed = null!;
    private BoundTransform _bound = null!;

    [ParamsAllValues]
    public TransformVariant Variant { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var data = StandardJobData.Create();
        _parsed = data.Parse();
        var spec = Variant switch
        {
            TransformVariant.Full => data.Spec,
            TransformVariant.Filter => TableSpecReader.Read(FilterYaml, "filter.yaml"),
            TransformVariant.Key => TableSpecReader.Read(KeyYaml, "key.yaml"),
            TransformVariant.KeyInputs => TableSpecReader.Read(KeyInputsYaml, "key-inputs.yaml"),
            _ => throw new InvalidOperationException($"unknown variant {Variant}"),
        };
        _bound = new TableTransform(spec, StandardJobData.LoadDate).Bind(StandardJobData.SourceName, _parsed.Header);
    }

    [GlobalCleanup]
    public void Cleanup() => _parsed.Dispose();

    [Benchmark]
    public long Transform()
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
