using System.Text;
using EtlStream.Compression;
using EtlStream.Sources;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// Reads a source object's CSV header with a small ranged read (the store is opened with small blocks), and checks that
/// the object's name tells its compression: <c>FILES()</c> decides by the suffix, we by the first bytes.
/// </summary>
internal static class InClusterHeader
{
    /// <summary>
    /// The header's field names and whether its line ends in CR LF (the file's <c>csv.row_delimiter</c> then), or an
    /// <see cref="InvalidDataException"/> saying why the cluster could not read the file.
    /// </summary>
    public static async Task<(IReadOnlyList<string> Fields, bool CrLf)> ReadAsync(SourceFile file, byte delimiter, byte quote, int maxBytes, CancellationToken cancellationToken)
    {
        var raw = await file.Open(cancellationToken).ConfigureAwait(false);
        await using (raw.ConfigureAwait(false))
        {
            await foreach (var entry in Decompression.OpenAsync(raw, file.Name, cancellationToken).ConfigureAwait(false))
            {
                await using (entry.ConfigureAwait(false))
                {
                    var named = ByName(file.FileName);
                    if (entry.Kind == CompressionKind.Zip || named == CompressionKind.Zip)
                    {
                        throw new InvalidDataException("a zip archive: FILES() does not read zip");
                    }

                    if (entry.Kind != named)
                    {
                        throw new InvalidDataException($"the content is {Describe(entry.Kind)} but the name says {Describe(named)}: FILES() decides the compression by the name's suffix");
                    }

                    var (record, crlf) = await FirstRecordAsync(entry.Stream, quote, maxBytes, cancellationToken).ConfigureAwait(false);
                    return (Parse(record, delimiter, quote), crlf);
                }
            }
        }

        throw new InvalidDataException("empty: no header");
    }

    /// <summary>The compression <c>FILES()</c> infers from a name's suffix.</summary>
    internal static CompressionKind ByName(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".gz" => CompressionKind.Gzip,
        ".bz2" => CompressionKind.Bzip2,
        ".zst" => CompressionKind.Zstd,
        ".zip" => CompressionKind.Zip,
        _ => CompressionKind.None,
    };

    private static string Describe(CompressionKind kind) => kind == CompressionKind.None ? "uncompressed" : kind.ToString().ToLowerInvariant();

    /// <summary>The bytes up to the first line break outside quotes, and whether that break is CR LF.</summary>
    private static async Task<(byte[] Record, bool CrLf)> FirstRecordAsync(Stream stream, byte quote, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(maxBytes, 64 * 1024)];
        var length = 0;
        var quoted = false;
        var scanned = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length >= maxBytes)
                {
                    throw new InvalidDataException($"no line break in the first {maxBytes} bytes: no header");
                }

                Array.Resize(ref buffer, Math.Min(maxBytes, buffer.Length * 2));
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            length += read;
            for (; scanned < length; scanned++)
            {
                var b = buffer[scanned];
                if (b == quote)
                {
                    quoted = !quoted;
                }
                else if (!quoted && b == (byte)'\n')
                {
                    return (buffer[..scanned], false);
                }
                else if (!quoted && b == (byte)'\r')
                {
                    if (scanned + 1 == length && read > 0)
                    {
                        break; // the byte after CR is not read yet
                    }

                    // FILES() splits rows on one delimiter: CR LF, or LF; a bare CR ends no row there.
                    return scanned + 1 < length && buffer[scanned + 1] == (byte)'\n'
                        ? (buffer[..scanned], true)
                        : throw new InvalidDataException("the header ends in a bare CR: FILES() splits rows on LF or CR LF");
                }
            }

            if (read == 0)
            {
                return (buffer[..length], false);
            }
        }
    }

    private static List<string> Parse(byte[] record, byte delimiter, byte quote)
    {
        var text = Encoding.UTF8.GetString(record).TrimStart('\uFEFF');
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch == (char)quote)
            {
                if (quoted && i + 1 < text.Length && text[i + 1] == (char)quote)
                {
                    field.Append(ch);
                    i++;
                }
                else
                {
                    quoted = !quoted;
                }
            }
            else if (ch == (char)delimiter && !quoted)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(ch);
            }
        }

        fields.Add(field.ToString());
        return fields;
    }
}
