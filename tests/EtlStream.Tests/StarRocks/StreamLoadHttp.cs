using System.Net.Sockets;
using System.Text;

namespace EtlStream.Tests.StarRocks;

/// <summary>One HTTP/1.1 request head as the protocol server sees it, before any of the body is read.</summary>
internal sealed record StreamLoadRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    public long ContentLength => long.TryParse(Header("Content-Length"), out var n) ? n : 0;

    public bool ExpectsContinue => string.Equals(Header("Expect"), "100-continue", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// A raw HTTP/1.1 connection: the server sees the request head before any body byte, so it can answer
/// <c>100 Continue</c>, refuse, redirect without reading the body, reset the socket or hold the reply.
/// </summary>
internal sealed class StreamLoadHttp(Socket socket) : IDisposable
{
    private readonly NetworkStream _stream = new(socket, ownsSocket: false);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public async Task<StreamLoadRequest?> ReadRequestAsync(CancellationToken token)
    {
        var head = new MemoryStream();
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var at = span.IndexOf("\r\n\r\n"u8);
            if (at >= 0)
            {
                head.Write(span[..at]);
                _start += at + 4;
                break;
            }

            // Keep the last 3 bytes: the terminator may straddle two reads.
            var keep = Math.Min(3, span.Length);
            head.Write(span[..^keep]);
            span[^keep..].CopyTo(_buffer);
            _start = 0;
            _end = keep;
            if (head.Length > 64 * 1024)
            {
                throw new InvalidDataException("request head too long");
            }

            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), token);
            if (n == 0)
            {
                return null;
            }

            _end += n;
        }

        var lines = Encoding.UTF8.GetString(head.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3)
        {
            throw new InvalidDataException($"bad request line '{lines[0]}'");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        var target = parts[1];
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (q >= 0)
        {
            foreach (var pair in target[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                query[Uri.UnescapeDataString(eq >= 0 ? pair[..eq] : pair)] = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..]) : "";
            }
        }

        return new StreamLoadRequest(parts[0], q >= 0 ? target[..q] : target, query, headers);
    }

    public async Task SendContinueAsync(CancellationToken token) =>
        await _stream.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), token);

    public async Task<byte[]> ReadBodyAsync(long length, CancellationToken token)
    {
        var body = new byte[length];
        var have = (int)Math.Min(length, _end - _start);
        _buffer.AsSpan(_start, have).CopyTo(body);
        _start += have;
        var at = have;
        while (at < length)
        {
            var n = await _stream.ReadAsync(body.AsMemory(at), token);
            if (n == 0)
            {
                throw new EndOfStreamException("the client closed the connection before the whole body");
            }

            at += n;
        }

        return body;
    }

    public async Task RespondAsync(int status, string reason, string body, bool close, CancellationToken token, params (string Name, string Value)[] extra)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder();
        head.Append("HTTP/1.1 ").Append(status).Append(' ').Append(reason).Append("\r\n");
        head.Append("Content-Type: ").Append(body.StartsWith('{') ? "application/json" : "text/plain").Append("; charset=UTF-8\r\n");
        head.Append("Content-Length: ").Append(bytes.Length).Append("\r\n");
        head.Append("Connection: ").Append(close ? "close" : "keep-alive").Append("\r\n");
        foreach (var (name, value) in extra)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        await _stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), token);
        await _stream.WriteAsync(bytes, token);
        await _stream.FlushAsync(token);
    }

    /// <summary>Closes with a TCP reset: the client sees the connection die, not a reply.</summary>
    public void Reset()
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public void Dispose()
    {
        _stream.Dispose();
        socket.Dispose();
    }
}
