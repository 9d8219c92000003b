using System.Security.Cryptography;
using EtlStream.Compression;
using EtlStream.Sources;

namespace EtlStream.Tests.Sources;

/// <summary>
/// The contract every source store keeps, run against each (local folder, Azurite, s3rver): listing by prefix, glob
/// and date range; the exact bytes of every compression at every size up to over 100 MB whatever the ranged-read
/// settings; and clear failures naming an object that vanished or changed after it was listed.
/// </summary>
public abstract class SourceStoreContractTests
{
    /// <summary>Small blocks, so that every object of a few MB is many ranged reads.</summary>
    protected static readonly RangedReadOptions SmallBlocks = new() { BlockSize = 64 * 1024, MaxInFlight = 4, RetryDelay = TimeSpan.FromMilliseconds(10) };

    protected abstract ISourceBench Bench { get; }

    [Fact]
    public async Task A_glob_lists_one_folder_in_name_order()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var store = Bench.Store(space, SmallBlocks);
        Assert.Equal(["daily/invoices_2026-11-22.csv", "daily/invoices_2026-11-23.csv", "daily/invoices_2026-11-24.csv", "daily/invoices_2026-11-25.csv", "daily/invoices_2026-11-26.csv"],
            Relative(space, await store.ListAsync("daily/invoices_*.csv", null, default)));
        Assert.Equal(["daily/invoices_2026-11-23.csv", "daily/sub/invoices_2026-11-23.csv"],
            Relative(space, await store.ListAsync("daily/**/invoices_2026-11-2?.csv", null, default)).Where(n => n.Contains("-23", StringComparison.Ordinal)));
        Assert.Equal(["daily/invoices_2026-11-23.csv", "daily/invoices_2026-11-23.csv.done", "daily/sub/invoices_2026-11-23.csv"],
            Relative(space, await store.ListAsync("**/invoices_2026-11-23*", null, default)));
    }

    [Fact]
    public async Task A_date_placeholder_lists_a_day_or_a_range()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var store = Bench.Store(space, SmallBlocks);
        var day = new DateOnly(2026, 11, 23);
        Assert.Equal(["daily/invoices_2026-11-23.csv"], Relative(space, await store.ListAsync("daily/invoices_{date}.csv", DateRange.Day(day), default)));
        Assert.Equal(["daily/invoices_2026-11-23.csv", "daily/invoices_2026-11-24.csv", "daily/invoices_2026-11-25.csv"],
            Relative(space, await store.ListAsync("daily/invoices_{date}.csv", new DateRange(day, day.AddDays(2)), default)));
        Assert.Equal(["daily/invoices_2026-11-23.csv", "daily/sub/invoices_2026-11-23.csv"],
            Relative(space, await store.ListAsync("daily/**/invoices_{date}.csv", DateRange.Day(day), default)));
        Assert.Empty(await store.ListAsync("daily/invoices_{date}.csv", DateRange.Day(new DateOnly(2026, 12, 1)), default));
    }

    [Fact]
    public async Task A_name_without_wildcards_is_that_object_or_a_folder()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var store = Bench.Store(space, SmallBlocks);
        Assert.Equal(["formats/small.csv"], Relative(space, await store.ListAsync("formats/small.csv", null, default)));
        Assert.Equal(SourceContractData.ListingNames.Where(n => n.StartsWith("daily/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), Relative(space, await store.ListAsync("daily", null, default)));
        Assert.Equal(Relative(space, await store.ListAsync("daily", null, default)), Relative(space, await store.ListAsync("daily/", null, default)));
        Assert.Empty(await store.ListAsync("dail", null, default));
        Assert.Empty(await store.ListAsync("nothing/*.csv", null, default));
    }

    [Fact]
    public async Task A_listed_object_carries_its_size_version_and_last_modified_time()
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var files = await Bench.Store(space, SmallBlocks).ListAsync("formats/*", null, default);
        Assert.Equal(SourceContractData.Objects.Keys.Order(StringComparer.Ordinal), Relative(space, files));
        foreach (var file in files)
        {
            Assert.Equal(Bench.DisplayName(space, RelativeName(space, file)), file.Name);
            Assert.Equal(SourceContractData.Objects[RelativeName(space, file)].Stored.Length, file.Length);
            Assert.False(string.IsNullOrEmpty(file.Version));
            Assert.InRange(file.LastModified!.Value, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        }

        Assert.Equal(files.Count, files.Select(f => (f.Name, f.Version)).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(SourceContractData.ObjectNames), MemberType = typeof(SourceContractData))]
    [InlineData("formats/empty.csv")]
    public async Task An_object_streams_its_exact_bytes_and_decompresses_to_its_content(string name)
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var file = Assert.Single(await Bench.Store(space, SmallBlocks).ListAsync(name, null, default));
        var (stored, plain) = SourceContractData.Objects[name];

        await using (var stream = await file.Open(default))
        {
            var read = new MemoryStream();
            await stream.CopyToAsync(read, 7_919); // an odd buffer size: block edges fall mid-read
            Assert.Equal(stored, read.ToArray());
        }

        var decompressed = new MemoryStream();
        await using (var raw = await file.Open(default))
        {
            await foreach (var entry in Decompression.OpenAsync(raw, file.Name, default))
            {
                await using (entry)
                {
                    await entry.Stream.CopyToAsync(decompressed);
                }
            }
        }

        Assert.Equal(plain, decompressed.ToArray());
    }

    [Theory]
    [InlineData(64 * 1024, 1)]
    [InlineData(256 * 1024, 8)]
    [InlineData(8 * 1024 * 1024, 4)]
    public async Task An_object_over_100_MB_streams_byte_identical_whatever_the_blocks_in_flight(int blockSize, int inFlight)
    {
        var space = await SourceContractData.SeedAsync(Bench);
        var file = Assert.Single(await Bench.Store(space, SmallBlocks with { BlockSize = blockSize, MaxInFlight = inFlight }).ListAsync("huge/", null, default));
        Assert.Equal(SourceContractData.HugeSize, file.Length);
        await using var stream = await file.Open(default);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(SourceContractData.Huge)), await Sha256Async(stream));
    }

    [Fact]
    public async Task An_object_gone_after_listing_fails_naming_it()
    {
        var space = await Bench.NewSpaceAsync();
        await Bench.PutAsync(space, "in/gone.csv", SourceContractData.Csv(300_000, seed: 3));
        var file = Assert.Single(await Bench.Store(space, SmallBlocks).ListAsync("in/*.csv", null, default));
        await Bench.DeleteAsync(space, "in/gone.csv");

        var e = await Assert.ThrowsAsync<SourceException>(() => ReadAllAsync(file));
        Assert.Equal(SourceFailure.Missing, e.Failure);
        Assert.Equal($"{Bench.DisplayName(space, "in/gone.csv")}: the object is gone (listed at version {file.Version}, missing when read)", e.Message);
    }

    [Fact]
    public async Task An_object_replaced_after_listing_fails_rather_than_mixing_versions()
    {
        var space = await Bench.NewSpaceAsync();
        await Bench.PutAsync(space, "in/day.csv", SourceContractData.Csv(300_000, seed: 4));
        var file = Assert.Single(await Bench.Store(space, SmallBlocks).ListAsync("in/day.csv", null, default));
        await Bench.PutAsync(space, "in/day.csv", SourceContractData.Csv(300_100, seed: 5));

        var e = await Assert.ThrowsAsync<SourceException>(() => ReadAllAsync(file));
        Assert.Equal(SourceFailure.Changed, e.Failure);
        Assert.Equal($"{Bench.DisplayName(space, "in/day.csv")}: the object changed while it was read (listed at version {file.Version}, now another); the file fails rather than mixing versions", e.Message);
    }

    protected static async Task<byte[]> ReadAllAsync(SourceFile file)
    {
        await using var stream = await file.Open(default);
        var read = new MemoryStream();
        await stream.CopyToAsync(read);
        return read.ToArray();
    }

    protected static async Task<string> Sha256Async(Stream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81_920];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private IEnumerable<string> Relative(string space, IReadOnlyList<SourceFile> files) => files.Select(f => RelativeName(space, f)).ToList();

    /// <summary>The object name inside its space, from the display name the store gave it.</summary>
    private string RelativeName(string space, SourceFile file)
    {
        var prefix = Bench.DisplayName(space, "");
        Assert.StartsWith(prefix, file.Name);
        return file.Name[prefix.Length..].Replace(Path.DirectorySeparatorChar, '/');
    }
}
