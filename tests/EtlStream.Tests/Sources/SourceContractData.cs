using System.Buffers.Text;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using EtlStream.Sources;
using SharpCompress.Compressors.BZip2;

namespace EtlStream.Tests.Sources;

/// <summary>
/// Where a contract test's objects live (a folder, a container, a bucket), and how a test changes them behind the
/// source's back. One per store under test.
/// </summary>
public interface ISourceBench
{
    /// <summary>What the seeded space is cached by: the server (or folder) the bench stands for.</summary>
    object Key { get; }

    /// <summary>A fresh, empty space: a folder, a container or a bucket.</summary>
    Task<string> NewSpaceAsync();

    ISourceStore Store(string space, RangedReadOptions reads, HttpMessageHandler? handler = null);

    Task PutAsync(string space, string name, byte[] content);

    Task DeleteAsync(string space, string name);

    /// <summary>The <see cref="SourceFile.Name"/> the store gives an object.</summary>
    string DisplayName(string space, string name);
}

/// <summary>
/// The objects every source is tested with, made once per test process: dated files for listing, every compression
/// at 0 bytes, small and several MB, and one plain object over 100 MB whose lines carry their own offsets (so a
/// block out of order cannot go unnoticed).
/// </summary>
public static class SourceContractData
{
    public const int HugeSize = 105 * 1024 * 1024;
    private static readonly ConditionalWeakTable<object, Task<string>> Seeded = [];
    private static readonly Lazy<byte[]> LazyHuge = new(MakeHuge);
    private static readonly Lazy<IReadOnlyDictionary<string, (byte[] Stored, byte[] Plain)>> LazyObjects = new(MakeObjects);

    /// <summary>Names of the listing test's objects, as stored.</summary>
    public static readonly string[] ListingNames =
    [
        "daily/invoices_2026-11-22.csv", "daily/invoices_2026-11-23.csv", "daily/invoices_2026-11-24.csv",
        "daily/invoices_2026-11-25.csv", "daily/invoices_2026-11-26.csv", "daily/other_2026-11-23.csv",
        "daily/sub/invoices_2026-11-23.csv", "daily/invoices_2026-11-23.csv.done", "readme.txt",
    ];

    public static byte[] Huge => LazyHuge.Value;

    /// <summary>The format objects: stored bytes, and the bytes decompression must give back.</summary>
    public static IReadOnlyDictionary<string, (byte[] Stored, byte[] Plain)> Objects => LazyObjects.Value;

    public static TheoryData<string> ObjectNames() => [.. MakeNames()];

    /// <summary>The space holding every object above in <paramref name="bench"/>'s store, uploaded once per server.</summary>
    public static Task<string> SeedAsync(ISourceBench bench)
    {
        lock (Seeded)
        {
            if (!Seeded.TryGetValue(bench.Key, out var task))
            {
                task = SeedNowAsync(bench);
                Seeded.Add(bench.Key, task);
            }

            return task;
        }
    }

    public static byte[] Csv(int bytes, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("id,amount,note\n");
        for (var i = 1; text.Length < bytes; i++)
        {
            text.Append(i).Append(',').Append(random.Next(0, 1_000_000)).Append('.').Append(random.Next(0, 100).ToString("D2", System.Globalization.CultureInfo.InvariantCulture))
                .Append(",note-").Append(random.Next()).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static async Task<string> SeedNowAsync(ISourceBench bench)
    {
        var space = await bench.NewSpaceAsync();
        foreach (var name in ListingNames)
        {
            await bench.PutAsync(space, name, Encoding.UTF8.GetBytes($"a,b\n{name},1\n"));
        }

        foreach (var (name, (stored, _)) in Objects)
        {
            await bench.PutAsync(space, name, stored);
        }

        await bench.PutAsync(space, "huge/huge.csv", Huge);
        return space;
    }

    private static IEnumerable<string> MakeNames() =>
        from size in new[] { "small", "large" }
        from ext in new[] { ".csv", ".csv.gz", ".zip", ".csv.bz2", ".csv.zst" }
        select $"formats/{size}{ext}";

    private static Dictionary<string, (byte[] Stored, byte[] Plain)> MakeObjects()
    {
        var objects = new Dictionary<string, (byte[] Stored, byte[] Plain)>(StringComparer.Ordinal)
        {
            ["formats/empty.csv"] = ([], []),
        };
        var small = Csv(1_500, seed: 1);
        var large = Csv(4 * 1024 * 1024, seed: 2);
        foreach (var name in MakeNames())
        {
            var plain = name.Contains("small", StringComparison.Ordinal) ? small : large;
            objects[name] = (Compress(name, plain), plain);
        }

        return objects;
    }

    private static byte[] Compress(string name, byte[] plain)
    {
        var output = new MemoryStream();
        if (name.EndsWith(".gz", StringComparison.Ordinal))
        {
            using var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
            gzip.Write(plain);
        }
        else if (name.EndsWith(".zip", StringComparison.Ordinal))
        {
            using var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            using var entry = archive.CreateEntry("data.csv", CompressionLevel.Fastest).Open();
            entry.Write(plain);
        }
        else if (name.EndsWith(".bz2", StringComparison.Ordinal))
        {
            using var bzip2 = BZip2Stream.Create(output, SharpCompress.Compressors.CompressionMode.Compress, false, leaveOpen: true);
            bzip2.Write(plain);
        }
        else if (name.EndsWith(".zst", StringComparison.Ordinal))
        {
            using var zstd = new ZstdSharp.CompressionStream(output, level: 1, leaveOpen: true);
            zstd.Write(plain);
        }
        else
        {
            output.Write(plain);
        }

        return output.ToArray();
    }

    /// <summary>105 MiB of 32-byte lines, each holding its own offset: <c>00000000000000000032,huge-lines\n</c>.</summary>
    private static byte[] MakeHuge()
    {
        var bytes = new byte[HugeSize];
        for (var offset = 0; offset < bytes.Length; offset += 32)
        {
            var line = bytes.AsSpan(offset, 32);
            Utf8Formatter.TryFormat(offset, line, out _, new System.Buffers.StandardFormat('D', 20));
            ",huge-lines\n"u8.CopyTo(line[20..]);
        }

        return bytes;
    }
}
