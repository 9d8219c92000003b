using System.Security.Cryptography;
using System.Text;
using Apache.Arrow;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// Deterministic Stream Load labels: the same (tenant, table, source object incl. its ETag, chunk, table shape)
/// always gives the same label, so a retry or a rerun reuses it and the server refuses a second commit. Labels
/// are at most 128 characters of <c>[A-Za-z0-9_]</c>; long or odd parts are hashed, never cut into a collision.
/// </summary>
internal static class StreamLoadLabel
{
    public const int MaxLength = 128;

    /// <summary>
    /// The prefix every label of (<paramref name="tenant"/>, <paramref name="database"/>, <paramref name="table"/>)
    /// starts with: how lingering transactions of ours are recognised.
    /// </summary>
    public static string Prefix(string tenant, string database, string table) =>
        $"etl_{Readable(tenant, 16)}_{Readable(table, 24)}_{Hash(database + "\0" + table, 6)}_";

    /// <summary>
    /// The label of chunk <paramref name="chunk"/> of <paramref name="file"/>, or of the whole file's transaction when
    /// <paramref name="chunk"/> is null. <paramref name="shapeHash"/> names the table shape (see <see cref="ShapeHash"/>):
    /// a changed spec loads under new labels instead of being mistaken for a finished load.
    /// </summary>
    public static string For(string tenant, string database, string table, SourceFile file, int? chunk, string shapeHash)
    {
        ArgumentNullException.ThrowIfNull(file);
        var identity = string.Join('\0', tenant, database, table, file.Name, file.Version, file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), shapeHash);
        var label = Prefix(tenant, database, table) + Readable(Path.GetFileName(file.Name), 24) + "_" + Hash(identity, 20) +
            (chunk is { } c ? "_c" + c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "_f");
        return label.Length <= MaxLength ? label : throw new InvalidOperationException($"label '{label}' is longer than {MaxLength}");
    }

    /// <summary>A hash of the columns in body order with their types, nullability and lengths.</summary>
    public static string ShapeHash(Schema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var text = new StringBuilder();
        foreach (var f in schema.FieldsList)
        {
            text.Append(f.Name).Append(':').Append(f.DataType.Name);
            if (f.DataType is Apache.Arrow.Types.Decimal128Type d)
            {
                text.Append('(').Append(d.Precision).Append(',').Append(d.Scale).Append(')');
            }

            text.Append(f.IsNullable ? "?" : "!");
            if (f.Metadata?.TryGetValue(Tables.ArrowTypes.MaxLengthKey, out var n) == true)
            {
                text.Append('[').Append(n).Append(']');
            }

            text.Append(';');
        }

        return Hash(text.ToString(), 12);
    }

    /// <summary>Whether <paramref name="label"/> is one a Stream Load server accepts.</summary>
    public static bool IsValid(string label)
    {
        if (label.Length is 0 or > MaxLength)
        {
            return false;
        }

        foreach (var ch in label)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch == '_' || ch == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The part's safe characters, at most <paramref name="max"/> of them (the hash carries identity).</summary>
    private static string Readable(string part, int max)
    {
        var sb = new StringBuilder(Math.Min(part.Length, max));
        foreach (var ch in part)
        {
            if (sb.Length == max)
            {
                break;
            }

            sb.Append(char.IsAsciiLetterOrDigit(ch) ? ch : '_');
        }

        return sb.Length == 0 ? "x" : sb.ToString();
    }

    private static string Hash(string text, int hexChars) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..hexChars];
}
