using System.Diagnostics;
using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Sinks;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Benchmarks;

/// <summary>
/// Runs the standard job's stages one after another on one thread and prints each stage's cumulative cost,
/// so the cost of a stage is the difference between two lines. Complements the per-stage busy times of the
/// run report, which overlap and include waiting when stages run concurrently.
/// </summary>
internal static class StageProfile
{
    public static async Task<int> RunAsync(string file, string specPath, string? parquetOut)
    {
        var spec = TableSpecReader.ReadFile(specPath);
        foreach (var depth in Environment.GetEnvironmentVariable("DEPTHS")?.Split(",").Select(int.Parse).ToArray() ?? [1, 2, 3, 4])
        {
            if (depth >= 4 && parquetOut is null)
            {
                break;
            }

            var times = new List<double>();
            for (var run = 0; run < 3; run++)
            {
                var sw = Stopwatch.StartNew();
                await RunOnceAsync(file, spec, depth, parquetOut);
                times.Add(sw.Elapsed.TotalSeconds);
            }

            times.Sort();
            var name = depth switch { 1 => "decompress", 2 => "+ parse", 3 => "+ transform", 4 => "+ parquet write", _ => "+ csv encode" };
            Console.WriteLine($"{name,-16} median {times[1]:F3} s  (runs: {string.Join(", ", times.Select(t => t.ToString("F3")))})");
        }

        return 0;
    }

    private static async Task RunOnceAsync(string file, TableSpec spec, int depth, string? parquetOut)
    {
        await using var raw = File.OpenRead(file);
        await foreach (var entry in Decompression.OpenAsync(raw, file, CancellationToken.None))
        {
            await using (entry)
            {
                if (depth == 1)
                {
                    var buffer = new byte[1 << 20];
                    while (await entry.Stream.ReadAsync(buffer) > 0)
                    {
                    }

                    continue;
                }

                using var parser = new CsvArrowParser(entry.Stream, file, spec.Csv);
                var header = await parser.ReadHeaderAsync();
                var transform = new TableTransform(spec, DateOnly.FromDateTime(DateTime.Today));
                var bound = transform.Bind(file, header);
                IBatchSink? sink = depth == 4 ? SinkTarget.Create("parquet:" + parquetOut, spec.Name) : null;
                var csv = new EtlStream.Formats.Csv.CsvArrowWriter();
                var body = new System.Buffers.ArrayBufferWriter<byte>(32 << 20);
                if (sink is not null)
                {
                    await sink.OpenAsync(transform.OutputSchema, CancellationToken.None);
                }

                while (await parser.ReadBatchAsync() is { } batch)
                {
                    using (batch)
                    {
                        if (depth >= 3)
                        {
                            using var output = bound.Apply(batch);
                            if (sink is not null)
                            {
                                await sink.WriteAsync(new SinkChunk([output.Batch]), CancellationToken.None);
                            }

                            if (depth == 5)
                            {
                                csv.Write(output.Batch, body);
                                body.ResetWrittenCount();
                            }
                        }
                    }
                }

                if (sink is not null)
                {
                    await sink.CompleteAsync(CancellationToken.None);
                    await sink.DisposeAsync();
                }
            }
        }
    }
}
