using BenchmarkDotNet.Attributes;
using EtlStream.Formats.Csv;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>CSV → Arrow string columns: the standard job's 100,000 rows from memory, batches disposed as they come.</summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.InputCsv)]
public class ParseBenchmarks
{
    private StandardJobData _data = null!;

    [GlobalSetup]
    public void Setup() => _data = StandardJobData.Create();

    [Benchmark]
    public async Task<long> Parse()
    {
        using var parser = new CsvArrowParser(new MemoryStream(_data.Csv, writable: false), StandardJobData.SourceName, _data.Spec.Csv);
        await parser.ReadHeaderAsync();
        var rows = 0L;
        while (await parser.ReadBatchAsync() is { } batch)
        {
            rows += batch.RowCount;
            batch.Dispose();
        }

        return rows;
    }
}
