using System.IO.Compression;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tables;

/// <summary>A table's own decompression bomb limits (<c>decompression:</c>) and sizes with units.</summary>
public sealed class DecompressionLimitsSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_tables_limit_refuses_a_file_that_inflates_past_it()
    {
        var spec = TableSpecReader.Read("""
            table: t
            csv: { max_record_bytes: 1MiB }
            decompression: { max_bytes: 4MiB, max_ratio: 2000 }
            columns:
              - { name: id, type: string }
            """, "t.yaml");
        Assert.Equal((4L << 20, 2000L), (spec.Decompression!.MaxBytes, spec.Decompression.MaxRatio));
        Assert.Equal(1 << 20, spec.Csv.MaxRecordBytes);

        var input = _dir.File("big.csv.gz");
        await using (var gz = new GZipStream(File.Create(input), CompressionLevel.Fastest))
        {
            var line = "id\n"u8.ToArray();
            await gz.WriteAsync(line);
            var row = System.Text.Encoding.ASCII.GetBytes(new string('7', 1023) + "\n");
            for (var i = 0; i < 5 * 1024; i++)
            {
                await gz.WriteAsync(row); // 5 MiB of rows
            }
        }

        await using var sink = SinkTarget.Create($"parquet:{_dir.File("out.parquet")}", "t");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() =>
            new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(input), spec, sink, default));
        Assert.Equal($"{input}: decompresses to more than 4,194,304 bytes (limit max_bytes): refusing it as a possible decompression bomb", error.Message);
    }

    [Fact]
    public void Bad_limits_are_reported_with_their_path()
    {
        var error = Assert.Throws<ConfigException>(() => TableSpecReader.Read("""
            table: t
            decompression: { max_bytes: lots, max_ratio: 0, speed: 3 }
            columns:
              - { name: id, type: string }
            """, "t.yaml"));
        Assert.Contains("t.yaml: decompression.max_bytes: expected a size such as 64MiB or 1TiB, got 'lots'", error.Errors);
        Assert.Contains("t.yaml: decompression: max_bytes and max_ratio must be positive, ratio_check_after not negative", error.Errors);
        Assert.Contains(error.Errors, e => e.StartsWith("t.yaml: decompression.speed: unknown key", StringComparison.Ordinal));
    }
}
