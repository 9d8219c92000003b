using System.IO.Compression;
using EtlStream.Compression;
using SharpCompress.Compressors.BZip2;

namespace EtlStream.Tests.Compression;

public sealed class DecompressionTests
{
    private static readonly byte[] Small = "Invoice_No,Qty\nINV-000000001,5\n"u8.ToArray();

    public static TheoryData<CompressionKind, int> KindsAndSizes()
    {
        var data = new TheoryData<CompressionKind, int>();
        foreach (CompressionKind kind in new[] { CompressionKind.None, CompressionKind.Gzip, CompressionKind.Bzip2, CompressionKind.Zstd, CompressionKind.Zip })
        {
            data.Add(kind, 0);
            data.Add(kind, Small.Length);
            data.Add(kind, 5 * 1024 * 1024 + 123);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndSizes))]
    public async Task Round_trips_exact_bytes(CompressionKind kind, int size)
    {
        byte[] payload = Payload(size);
        byte[] compressed = Compress(kind, payload);

        List<(string Name, CompressionKind Kind, byte[] Bytes)> entries =
            await ReadAllAsync(new MemoryStream(compressed), "in.dat");

        var entry = Assert.Single(entries);
        // GZipStream writes nothing at all for an empty payload, so that input is plain and empty.
        Assert.Equal(compressed.Length == 0 ? CompressionKind.None : kind, entry.Kind);
        Assert.Equal(kind == CompressionKind.Zip ? "in.dat!data.csv" : "in.dat", entry.Name);
        Assert.Equal(payload, entry.Bytes);
    }

    [Fact]
    public async Task Empty_input_is_one_empty_plain_entry()
    {
        var entries = await ReadAllAsync(new MemoryStream(), "empty.csv.gz");
        var entry = Assert.Single(entries);
        Assert.Equal(CompressionKind.None, entry.Kind);
        Assert.Empty(entry.Bytes);
    }

    [Theory]
    [InlineData(new byte[] { 0x1F, 0x8B, 0x08 }, CompressionKind.Gzip)]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04 }, CompressionKind.Zip)]
    [InlineData(new byte[] { 0x50, 0x4B, 0x05, 0x06 }, CompressionKind.Zip)]
    [InlineData(new byte[] { (byte)'B', (byte)'Z', (byte)'h', (byte)'9' }, CompressionKind.Bzip2)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, CompressionKind.Zstd)]
    [InlineData(new byte[] { (byte)'a', (byte)',', (byte)'b' }, CompressionKind.None)]
    [InlineData(new byte[] { 0x1F }, CompressionKind.None)]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03 }, CompressionKind.None)]
    [InlineData(new byte[0], CompressionKind.None)]
    public void Detects_by_magic_bytes(byte[] head, CompressionKind expected) =>
        Assert.Equal(expected, Decompression.Detect(head));

    [Fact]
    public async Task Detection_ignores_a_misleading_extension()
    {
        byte[] zstd = Compress(CompressionKind.Zstd, Small);
        var entries = await ReadAllAsync(new MemoryStream(zstd), "invoices.csv.gz");
        Assert.Equal(CompressionKind.Zstd, Assert.Single(entries).Kind);
        Assert.Equal(Small, entries[0].Bytes);

        var plain = await ReadAllAsync(new MemoryStream(Small), "invoices.zip");
        Assert.Equal(CompressionKind.None, Assert.Single(plain).Kind);
        Assert.Equal(Small, plain[0].Bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Gzip_concatenated_members_are_read_whole(bool seekable)
    {
        byte[] first = Payload(300_000);
        byte[] second = "second member\n"u8.ToArray();
        byte[] both = [.. Compress(CompressionKind.Gzip, first), .. Compress(CompressionKind.Gzip, second)];

        var entries = await ReadAllAsync(Wrap(both, seekable), "two.gz");

        Assert.Equal([.. first, .. second], Assert.Single(entries).Bytes);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Zip_yields_every_file_entry_in_order_and_skips_directories(bool seekable)
    {
        byte[] big = Payload(3 * 1024 * 1024);
        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            AddEntry(archive, "a.csv", "a,b\n1,2\n"u8.ToArray(), CompressionLevel.Optimal);
            archive.CreateEntry("sub/");
            AddEntry(archive, "sub/b.csv", big, CompressionLevel.Fastest);
            AddEntry(archive, "sub/empty.csv", [], CompressionLevel.Optimal);
            AddEntry(archive, "stored.csv", Small, CompressionLevel.NoCompression);
        }

        var entries = await ReadAllAsync(Wrap(zip.ToArray(), seekable), "batch.zip");

        Assert.Equal(["batch.zip!a.csv", "batch.zip!sub/b.csv", "batch.zip!sub/empty.csv", "batch.zip!stored.csv"],
            entries.Select(e => e.Name));
        Assert.All(entries, e => Assert.Equal(CompressionKind.Zip, e.Kind));
        Assert.Equal("a,b\n1,2\n"u8.ToArray(), entries[0].Bytes);
        Assert.Equal(big, entries[1].Bytes);
        Assert.Empty(entries[2].Bytes);
        Assert.Equal(Small, entries[3].Bytes);
    }

    [Fact]
    public async Task Empty_zip_archive_yields_no_entries()
    {
        var zip = new MemoryStream();
        using (new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
        }

        Assert.Equal(CompressionKind.Zip, Decompression.Detect(zip.ToArray()));
        Assert.Empty(await ReadAllAsync(new MemoryStream(zip.ToArray()), "empty.zip"));
    }

    [Theory]
    [InlineData(CompressionKind.None)]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Bzip2)]
    [InlineData(CompressionKind.Zstd)]
    public async Task Non_seekable_raw_stream_works(CompressionKind kind)
    {
        byte[] payload = Payload(2 * 1024 * 1024 + 7);
        var entries = await ReadAllAsync(new NonSeekableStream(Compress(kind, payload)), "net");
        Assert.Equal(payload, Assert.Single(entries).Bytes);
    }

    [Fact]
    public async Task Raw_stream_is_left_open()
    {
        var raw = new MemoryStream(Compress(CompressionKind.Gzip, Small));
        await ReadAllAsync(raw, "x");
        Assert.True(raw.CanRead);
    }

    [Theory]
    [InlineData(false, 0.5)]
    [InlineData(true, 0.5)]
    [InlineData(false, -4)]
    [InlineData(true, -1)]
    public async Task Truncated_gzip_throws_naming_the_source(bool seekable, double cut)
    {
        byte[] gz = Compress(CompressionKind.Gzip, Payload(1_000_000));
        int length = cut > 0 ? (int)(gz.Length * cut) : gz.Length + (int)cut;

        var ex = await Assert.ThrowsAsync<InvalidDataException>(
            () => ReadAllAsync(Wrap(gz[..length], seekable), "s3://bucket/invoices.csv.gz"));
        Assert.Contains("s3://bucket/invoices.csv.gz", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CompressionKind.Gzip)]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.Bzip2)]
    public async Task Corrupt_data_throws_naming_the_source(CompressionKind kind)
    {
        // zstd detects corrupt literals only through the frame checksum (on by default in the zstd CLI).
        byte[] data = Compress(kind, Payload(500_000), zstdChecksum: true);
        for (int i = data.Length / 3; i < data.Length / 3 + 64; i++)
        {
            data[i] ^= 0x5A;
        }

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => ReadAllAsync(new MemoryStream(data), "bad-file"));
        Assert.IsType<InvalidDataException>(ex);
        Assert.Contains("bad-file", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CompressionKind.Zstd)]
    [InlineData(CompressionKind.Bzip2)]
    public async Task Truncated_zstd_and_bzip2_throw_naming_the_source(CompressionKind kind)
    {
        byte[] data = Compress(kind, Payload(500_000));
        var ex = await Assert.ThrowsAsync<InvalidDataException>(
            () => ReadAllAsync(new MemoryStream(data[..(data.Length / 2)]), "half-file"));
        Assert.Contains("half-file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_zip_with_a_corrupt_central_directory_throws_naming_the_source()
    {
        // Found by the fuzzer: the entry count at the end of the archive disagrees with the central directory.
        byte[] zip = Zip(("a.csv", Small), ("b.csv", Small));
        int eocd = zip.AsSpan().LastIndexOf("PK\u0005\u0006"u8);
        zip[eocd + 8] = 7; zip[eocd + 10] = 7; // total entries: 7, the directory holds 2

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(new MemoryStream(zip), "az://drop/broken.zip"));
        Assert.StartsWith("az://drop/broken.zip", ex.Message, StringComparison.Ordinal);
    }

    private static async Task<List<(string Name, CompressionKind Kind, byte[] Bytes)>> ReadAllAsync(Stream raw, string name)
    {
        var result = new List<(string, CompressionKind, byte[])>();
        await foreach (DecompressedEntry entry in Decompression.OpenAsync(raw, name, CancellationToken.None))
        {
            await using (entry)
            {
                var copy = new MemoryStream();
                byte[] buffer = new byte[100_000]; // odd size: not a multiple of any internal buffer
                int n;
                while ((n = await entry.Stream.ReadAsync(buffer)) > 0)
                {
                    copy.Write(buffer, 0, n);
                }

                result.Add((entry.Name, entry.Kind, copy.ToArray()));
            }
        }

        return result;
    }

    /// <summary>Compressible but not trivial: CSV-like lines with varying numbers.</summary>
    private static byte[] Payload(int size)
    {
        byte[] bytes = new byte[size];
        var random = new Random(size);
        for (int i = 0; i < size; i++)
        {
            bytes[i] = i % 40 == 39 ? (byte)'\n' : (byte)"0123456789,abcdefINV-\"é"[random.Next(23)];
        }

        return bytes;
    }

    private static byte[] Compress(CompressionKind kind, byte[] payload, bool zstdChecksum = false)
    {
        var output = new MemoryStream();
        switch (kind)
        {
            case CompressionKind.None:
                output.Write(payload);
                break;
            case CompressionKind.Gzip:
                using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
                {
                    gzip.Write(payload);
                }

                break;
            case CompressionKind.Bzip2:
                using (var bzip2 = BZip2Stream.Create(output, SharpCompress.Compressors.CompressionMode.Compress, false, leaveOpen: true))
                {
                    bzip2.Write(payload);
                }

                break;
            case CompressionKind.Zstd:
                using (var zstd = new ZstdSharp.CompressionStream(output, level: 3, leaveOpen: true))
                {
                    if (zstdChecksum)
                    {
                        zstd.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
                    }

                    zstd.Write(payload);
                }

                break;
            case CompressionKind.Zip:
                using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
                {
                    AddEntry(archive, "data.csv", payload, CompressionLevel.Optimal);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind));
        }

        return output.ToArray();
    }

    private static void AddEntry(ZipArchive archive, string name, byte[] content, CompressionLevel level)
    {
        using Stream stream = archive.CreateEntry(name, level).Open();
        stream.Write(content);
    }

    private static Stream Wrap(byte[] bytes, bool seekable) => seekable ? new MemoryStream(bytes) : new NonSeekableStream(bytes);

    /// <summary>A network-like stream: no seeking, no length, short reads.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 65_521));
        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<long> DrainAsync(byte[] compressed, string name, DecompressionLimits limits)
    {
        long total = 0;
        await foreach (var entry in Decompression.OpenAsync(new MemoryStream(compressed), name, limits, default))
        {
            await using (entry)
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await entry.Stream.ReadAsync(buffer)) > 0)
                {
                    total += n;
                }
            }
        }

        return total;
    }

    private static byte[] GzipOfZeros(int bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[bytes]);
        }

        return output.ToArray();
    }

    [Fact]
    public async Task A_decompression_bomb_is_refused_by_ratio_and_by_size()
    {
        var bomb = GzipOfZeros(8 << 20); // 8 MiB of zeros: about 8 KB compressed, ratio ~1000:1
        var ratio = await Assert.ThrowsAsync<InvalidDataException>(() => DrainAsync(bomb, "bomb.gz", new DecompressionLimits { MaxRatio = 100, RatioCheckAfterBytes = 1 << 20 }));
        Assert.StartsWith("bomb.gz: ", ratio.Message);
        Assert.Contains("refusing it as a possible decompression bomb", ratio.Message);
        Assert.Contains("limit 100:1", ratio.Message);

        var size = await Assert.ThrowsAsync<InvalidDataException>(() => DrainAsync(bomb, "big.gz", new DecompressionLimits { MaxBytes = 4 << 20 }));
        Assert.Equal("big.gz: decompresses to more than 4,194,304 bytes (limit max_bytes): refusing it as a possible decompression bomb", size.Message);

        var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            await using var e = archive.CreateEntry("zeros.csv", CompressionLevel.SmallestSize).Open();
            await e.WriteAsync(new byte[8 << 20]);
        }

        var inZip = await Assert.ThrowsAsync<InvalidDataException>(() => DrainAsync(zip.ToArray(), "bomb.zip", new DecompressionLimits { MaxRatio = 100, RatioCheckAfterBytes = 1 << 20 }));
        Assert.StartsWith("bomb.zip: its entries decl", inZip.Message); // refused from its directory, before reading

        // The defaults leave an honest file alone: the same 8 MiB under the default ratio check threshold.
        Assert.Equal(8L << 20, await DrainAsync(bomb, "fine.gz", DecompressionLimits.Default));
    }

    [Fact]
    public async Task Plain_files_and_zip_entries_declare_their_length_and_stream_compressed_data_does_not()
    {
        // The pipeline reads an entry declaring at most a read-ahead buffer on its own task (no read-ahead task).
        async Task<List<long?>> DeclaredAsync(Stream input, string name)
        {
            var lengths = new List<long?>();
            await foreach (var entry in Decompression.OpenAsync(input, name, default))
            {
                await using (entry)
                {
                    lengths.Add(entry.DeclaredLength);
                }
            }

            return lengths;
        }

        Assert.Equal([Small.Length], await DeclaredAsync(new MemoryStream(Small), "a.csv"));
        Assert.Equal([null], await DeclaredAsync(new MemoryStream(Gzip(Small)), "a.csv.gz"));
        Assert.Equal([Small.Length, 3], await DeclaredAsync(new MemoryStream(Zip(("a.csv", Small), ("b.csv", "x\n1"u8.ToArray()))), "a.zip"));
        Assert.Equal([Small.Length, 3], await DeclaredAsync(new NonSeekable(Zip(("a.csv", Small), ("b.csv", "x\n1"u8.ToArray()))), "piped.zip"));
        Assert.Equal([null], await DeclaredAsync(new MemoryStream(Zip(("a.csv.gz", Gzip(Small)))), "nested.zip"));
    }

    /// <summary>A pipe's view of some bytes: forward only, no length.</summary>
    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => base.Position; set => throw new NotSupportedException(); }

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var e = archive.CreateEntry(name).Open();
                e.Write(content);
            }
        }

        return output.ToArray();
    }

    private static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    private static async Task<List<(string Name, string Text)>> EntriesAsync(byte[] data, string name)
    {
        var result = new List<(string, string)>();
        await foreach (var entry in Decompression.OpenAsync(new MemoryStream(data), name, default))
        {
            await using (entry)
            {
                using var reader = new StreamReader(entry.Stream);
                result.Add((entry.Name, await reader.ReadToEndAsync()));
            }
        }

        return result;
    }

    [Fact]
    public async Task Archives_inside_a_zip_are_opened_one_level_down_and_deeper_nesting_is_refused()
    {
        var zip = Zip(("day1.csv.gz", Gzip("a\n1\n"u8.ToArray())), ("day2.csv", "a\n2\n"u8.ToArray()), ("../../evil.csv", "a\n3\n"u8.ToArray()));
        Assert.Equal(
            [("week.zip!day1.csv.gz", "a\n1\n"), ("week.zip!day2.csv", "a\n2\n"), ("week.zip!../../evil.csv", "a\n3\n")],
            await EntriesAsync(zip, "week.zip")); // a zip-slip name is only a name: nothing is ever extracted to disk

        var deep = Zip(("inner.zip", Zip(("innermost.zip", Zip(("x.csv", "a\n1\n"u8.ToArray()))))));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => EntriesAsync(deep, "outer.zip"));
        Assert.Equal("outer.zip!inner.zip!innermost.zip: archives nested more than 2 deep are not opened", e.Message);
    }
}

