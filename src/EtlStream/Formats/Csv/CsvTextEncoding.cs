using System.Text;

namespace EtlStream.Formats.Csv;

/// <summary>
/// The text encoding of a CSV stream, told from its first bytes. UTF-8 (with or without a BOM) is read as it is;
/// UTF-16 and UTF-32 with a byte-order mark are transcoded to UTF-8 as they stream (the parser works on UTF-8
/// bytes); UTF-16 without a BOM (a NUL beside each ASCII character) is refused rather than loaded as NULs, unless
/// declared (<see cref="CsvOptions.Encoding"/>). Latin-1 and Windows-1252 are read only when declared: their bytes
/// cannot be told from UTF-8's by looking.
/// </summary>
internal static class CsvTextEncoding
{
    /// <summary>Bytes needed to tell every case apart.</summary>
    public const int PeekBytes = 4;

    /// <summary>
    /// The encoding <paramref name="start"/> (the first bytes of the stream, up to <see cref="PeekBytes"/>) is in,
    /// null for UTF-8, and the length of its byte-order mark. A BOM wins over <paramref name="declared"/>; without
    /// one the declared encoding is used, and UTF-16 text declared as UTF-8 (the default) is refused.
    /// </summary>
    public static Encoding? Detect(ReadOnlySpan<byte> start, string source, CsvEncoding declared, out int bomLength)
    {
        bomLength = 0;
        ReadOnlySpan<byte> utf8 = [0xEF, 0xBB, 0xBF];
        if (start.StartsWith(utf8))
        {
            bomLength = 3;
            return null;
        }

        // UTF-32 LE before UTF-16 LE: its mark begins with UTF-16 LE's.
        ReadOnlySpan<byte> utf32Le = [0xFF, 0xFE, 0x00, 0x00];
        ReadOnlySpan<byte> utf32Be = [0x00, 0x00, 0xFE, 0xFF];
        if (start.StartsWith(utf32Le) || start.StartsWith(utf32Be))
        {
            bomLength = 4;
            return new UTF32Encoding(bigEndian: start[0] == 0, byteOrderMark: false, throwOnInvalidCharacters: true);
        }

        if (start.Length >= 2 && ((start[0] == 0xFF && start[1] == 0xFE) || (start[0] == 0xFE && start[1] == 0xFF)))
        {
            bomLength = 2;
            return new UnicodeEncoding(bigEndian: start[0] == 0xFE, byteOrderMark: false, throwOnInvalidBytes: true);
        }

        switch (declared)
        {
            case CsvEncoding.Latin1:
                return Encoding.Latin1;
            case CsvEncoding.Windows1252:
                // In the shared framework (System.Text.Encoding.CodePages) but not registered by default; asked for
                // directly so nothing global changes. Its five unassigned bytes read as the C1 controls, as Windows does.
                return CodePagesEncodingProvider.Instance.GetEncoding(1252)
                    ?? throw new InvalidOperationException("Windows-1252 is not available in this runtime");
            case CsvEncoding.Utf16 or CsvEncoding.Utf16Be:
                return new UnicodeEncoding(bigEndian: declared == CsvEncoding.Utf16Be, byteOrderMark: false, throwOnInvalidBytes: true);
        }

        if (start.Length >= 4 && IsAscii(start[0]) && start[1] == 0 && IsAscii(start[2]) && start[3] == 0)
        {
            throw new CsvFormatException(source, 1, 1, "the file looks like UTF-16LE without a byte-order mark (a NUL after each character): pass --encoding utf-16 (csv.encoding in a spec) or re-encode it as UTF-8");
        }

        if (start.Length >= 4 && start[0] == 0 && IsAscii(start[1]) && start[2] == 0 && IsAscii(start[3]))
        {
            throw new CsvFormatException(source, 1, 1, "the file looks like UTF-16BE without a byte-order mark (a NUL before each character): pass --encoding utf-16be (csv.encoding in a spec) or re-encode it as UTF-8");
        }

        return null;
    }

    /// <summary>
    /// A UTF-8 view of <paramref name="rest"/> in <paramref name="encoding"/>, whose first bytes were already read
    /// into <paramref name="head"/>. Streams: nothing beyond the transcoder's small buffers is held.
    /// </summary>
    public static Stream ToUtf8(ReadOnlyMemory<byte> head, Stream rest, Encoding encoding) =>
        Encoding.CreateTranscodingStream(new HeadThenRestStream(head, rest), encoding, new UTF8Encoding(false, true), leaveOpen: false);

    private static bool IsAscii(byte b) => b is >= 0x09 and < 0x7F;

    /// <summary>Bytes already read, then the rest of the stream; never disposes the stream (its opener does).</summary>
    private sealed class HeadThenRestStream(ReadOnlyMemory<byte> head, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _head = head;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_head.IsEmpty)
            {
                return rest.Read(buffer);
            }

            var n = Math.Min(buffer.Length, _head.Length);
            _head.Span[..n].CopyTo(buffer);
            _head = _head[n..];
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_head.IsEmpty)
            {
                return rest.ReadAsync(buffer, cancellationToken);
            }

            var n = Math.Min(buffer.Length, _head.Length);
            _head.Span[..n].CopyTo(buffer.Span);
            _head = _head[n..];
            return ValueTask.FromResult(n);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
