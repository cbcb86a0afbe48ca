/* The elementwise work of one LSTM time step, forward and backward, each in one pass over (B, H).
 *
 * lit_poetry/models/cell_kernel.py compiles this file on first use and calls it through ctypes from the
 * fused LSTM's time loop (fused_lstm.py), which does the matmuls with torch. Gate order f, i, o, C̃ along
 * the 4H columns; the equations and their derivation are docs/lstm_backprop.md. State and gates are
 * fp32; the matmul operands and results may be bf16 (raw 16-bit words, rounded to nearest even as torch
 * rounds). Single-threaded: a step is B x H = 32k elements, too few to pay for a thread team.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float from_bf16(uint16_t v) {
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN stays NaN */
    u += 0x7fffu + ((u >> 16) & 1u);                                          /* round to nearest even */
    return (uint16_t)(u >> 16);
}

static inline float load(const void *p, int64_t k, int bf16) {
    return bf16 ? from_bf16(((const uint16_t *)p)[k]) : ((const float *)p)[k];
}

/* expf's argument stays within ±40 (no fp32 sigmoid changes by more than 1e-17): glibc's vectorised expf
 * leaves its vector path for a whole vector when one lane overflows, so large pre-activations would
 * make a step several times slower. */
static inline float sigmoid(float x) { return 1.0f / (1.0f + expf(-fminf(fmaxf(x, -40.0f), 40.0f))); }

/* One row b of the forward step; `bf16` is a constant at each call, so every loop is compiled (and
 * vectorised) once per dtype. */
static inline void forward_row(float *restrict g4, const void *restrict hw, const int bf16, const float *restrict c_prev,
                               float *restrict c, float *restrict tanh_c, float *restrict h, int64_t H) {
#pragma omp simd
    for (int64_t j = 0; j < H; j++) {
        float f = sigmoid(g4[j] + load(hw, j, bf16));
        float i = sigmoid(g4[H + j] + load(hw, H + j, bf16));
        float o = sigmoid(g4[2 * H + j] + load(hw, 2 * H + j, bf16));
        float g = tanhf(g4[3 * H + j] + load(hw, 3 * H + j, bf16));
        float ct = f * c_prev[j] + i * g; /* C_t = f ⊙ C_{t-1} + i ⊙ C̃ */
        float tc = tanhf(ct);
        g4[j] = f, g4[H + j] = i, g4[2 * H + j] = o, g4[3 * H + j] = g;
        c[j] = ct, tanh_c[j] = tc, h[j] = o * tc; /* h_t = o ⊙ tanh(C_t) */
    }
}

/* gates (B, 4H): in x_t W_x + b, out the activations f, i, o, C̃.  hw (B, 4H): h_{t-1} W_h (bf16 if
 * bf16).  c_prev, c, tanh_c, h (B, H).  h_mm (B, H): h_t in bf16 for the next step's matmul (if bf16). */
void lstm_forward_step(float *gates, const void *hw, const float *c_prev, float *c, float *tanh_c, float *h,
                       uint16_t *h_mm, int bf16, int64_t B, int64_t H) {
    for (int64_t b = 0; b < B; b++) {
        int64_t r = b * H;
        if (bf16)
            forward_row(gates + 4 * r, (const uint16_t *)hw + 4 * r, 1, c_prev + r, c + r, tanh_c + r, h + r, H);
        else
            forward_row(gates + 4 * r, (const float *)hw + 4 * r, 0, c_prev + r, c + r, tanh_c + r, h + r, H);
        if (bf16)
#pragma omp simd
            for (int64_t j = 0; j < H; j++) h_mm[r + j] = to_bf16(h[r + j]);
    }
}

/* One row b of the backward step (`bf16` a constant at each call, as above). */
static inline void backward_row(const float *restrict g4, const float *restrict c_prev, const float *restrict tanh_c,
                                const float *restrict dh_out, const void *restrict dh_next, const int bf16,
                                float *restrict dc, void *restrict dnet, int64_t H) {
#pragma omp simd
    for (int64_t j = 0; j < H; j++) {
        float f = g4[j], i = g4[H + j], o = g4[2 * H + j], g = g4[3 * H + j], tc = tanh_c[j];
        float dh = dh_out[j] + (dh_next ? load(dh_next, j, bf16) : 0.0f);
        float dct = dc[j] + dh * o * (1.0f - tc * tc); /* ∂h_t/∂C_t = o (1 - tanh² C_t) */
        float d[4] = {dct * f * (1.0f - f) * c_prev[j], dct * i * (1.0f - i) * g, dh * o * (1.0f - o) * tc,
                      dct * i * (1.0f - g * g)}; /* ∂loss/∂net for f, i, o, C̃ */
        for (int k = 0; k < 4; k++) {
            if (bf16)
                ((uint16_t *)dnet)[k * H + j] = to_bf16(d[k]);
            else
                ((float *)dnet)[k * H + j] = d[k];
        }
        dc[j] = dct * f; /* ∂C_t/∂C_{t-1} = f */
    }
}

/* gates (B, 4H), c_prev, tanh_c (B, H): saved by the forward step.  dh_out: ∂loss/∂h_t from the output,
 * rows dh_stride floats apart.  dh_next (B, H): dnet_{t+1} W_h^T (bf16 if bf16), or NULL at the last
 * step.  dc (B, H): in ∂loss/∂C_t from step t+1, out ∂loss/∂C_{t-1} through this step.
 * dnet (B, 4H): out ∂loss/∂net_t (bf16 if bf16), the operand of the backward matmuls. */
void lstm_backward_step(const float *gates, const float *c_prev, const float *tanh_c, const float *dh_out,
                        int64_t dh_stride, const void *dh_next, float *dc, void *dnet, int bf16, int64_t B,
                        int64_t H) {
    for (int64_t b = 0; b < B; b++) {
        int64_t r = b * H;
        const float *g4 = gates + 4 * r, *cp = c_prev + r, *tc = tanh_c + r, *dho = dh_out + b * dh_stride;
        if (bf16)
            backward_row(g4, cp, tc, dho, dh_next ? (const uint16_t *)dh_next + r : NULL, 1, dc + r,
                         (uint16_t *)dnet + 4 * r, H);
        else
            backward_row(g4, cp, tc, dho, dh_next ? (const float *)dh_next + r : NULL, 0, dc + r,
                         (float *)dnet + 4 * r, H);
    }
}
