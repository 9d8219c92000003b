using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EtlStream.Tables;

namespace EtlStream.State;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (<c>--shard 2/8</c>, 0-based like a Kubernetes indexed job's
/// completion index): a file belongs to exactly one shard, by a hash of its name, so N machines sharing a backfill
/// load every file once with no coordination, and a file keeps its shard when others are added.
/// </summary>
public sealed record Shard(int Index, int Count)
{
    public static Shard All { get; } = new(0, 1);

    /// <summary>Parses <c>i/N</c> with 0 ≤ i &lt; N.</summary>
    public static Shard Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count > 0 && index < count)
        {
            return new Shard(index, count);
        }

        throw new ConfigException([$"--shard '{text}': expected i/N with 0 <= i < N (e.g. 0/4 … 3/4)"]);
    }

    /// <summary>Whether the object named <paramref name="sourceName"/> is this shard's to load.</summary>
    public bool Owns(string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        if (Count == 1)
        {
            return true;
        }

        // A cryptographic hash only for its stability across runtimes and machines (string.GetHashCode is per process).
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(sourceName), hash);
        return (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(hash) % (ulong)Count) == Index;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
