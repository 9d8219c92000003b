using System.Buffers;
using BenchmarkDotNet.Attributes;
using EtlStream.Formats.Csv;
using EtlStream.Sinks;
using EtlStream.Transforms;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>
/// The two output stages over the standard job's transformed batches (100,000 rows in, the rows left by the
/// <c>qty != 0</c> filter out): Parquet write (zstd, to /dev/shm when it exists) and the Stream Load CSV body encoder.
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.OutputRows)]
public class SinkEncodeBenchmarks
{
    private ParsedCsv _parsed = null!;
    private TransformedBatch[] _batches = null!;
    private string _directory = null!;
    private string _parquetTarget = null!;
    private readonly CsvArrowWriter _csv = new();
    private readonly ArrayBufferWriter<byte> _body = new(64 << 20);

    [GlobalSetup]
    public void Setup()
    {
        var data = StandardJobData.Create();
        _parsed = data.Parse();
        _batches = data.Transform(_parsed);
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, $"etlstream-kernels-{Environment.ProcessId}");
        Directory.CreateDirectory(_directory);
        _parquetTarget = "parquet:" + Path.Combine(_directory, "kernels.parquet");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in _batches)
        {
            b.Dispose();
        }

        _parsed.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public async Task<long> ParquetWrite()
    {
        return await StandardJobData.WriteThroughAsync(SinkTarget.Create(_parquetTarget, "fact_invoice_secondary"), _batches);
    }

    [Benchmark]
    public long CsvEncode()
    {
        _body.ResetWrittenCount();
        foreach (var b in _batches)
        {
            _csv.Write(b.Batch, _body);
        }

        return _body.WrittenCount;
    }
}
