using EtlStream.Compression;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Compression;

/// <summary>
/// Inputs the fuzzer (perf/EtlStream.Fuzz) once crashed the decompression front end with: corrupt zip central
/// directories, zip entries with unknown compression methods (PPMd, method 232), a deflate stream that failed while
/// an unread entry was skipped on dispose. Each must now end as data or as an error naming the source.
/// </summary>
public sealed class FuzzFindingsTests
{
    public static TheoryData<string> Findings() =>
        new(Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "EtlStream.Tests", "Compression", "FuzzFindings")).Order().Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Findings))]
    public async Task A_fuzzer_finding_reads_or_fails_naming_the_source(string finding)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Root, "tests", "EtlStream.Tests", "Compression", "FuzzFindings", finding));
        foreach (var seekable in new[] { false, true })
        {
            var limits = new DecompressionLimits { MaxBytes = 16 << 20, MaxRatio = 100, RatioCheckAfterBytes = 1 << 20 };
            try
            {
                await foreach (var entry in Decompression.OpenAsync(seekable ? new MemoryStream(bytes) : new TrickleStream(bytes, 4096), "drop/" + finding, limits, default))
                {
                    await using (entry)
                    {
                        var buffer = new byte[7]; // read part of each entry only: the rest is skipped on dispose
                        _ = await entry.Stream.ReadAsync(buffer);
                    }
                }
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("drop/" + finding, e.Message, StringComparison.Ordinal);
            }
        }
    }
}
