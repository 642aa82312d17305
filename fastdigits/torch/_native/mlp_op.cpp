// The native training steps of fastdigits.torch (native_ops): a Linear
// layer with no activation or relu (fastdigits::linear) and a two-layer
// relu MLP on data (fastdigits::mlp2), each as
// one PyTorch autograd node.  The autograd.Functions of _dense_ops.py and
// _mlp_ops.py run the same kernels with the same bits; these spend no
// Python per call (issue 15: ~75 us of a 0.7-0.9 ms step on the Xeon).
// Built on demand by fastdigits/torch/_native.py (torch.utils.cpp_extension);
// the kernels come from fastdigits._mlp.native_api() (fd_native_api.h).
// The headers this file uses, not <torch/extension.h> (all of libtorch's
// C++ API): it compiles in 36 s instead of 52-59 s on the 2-vCPU Zen 3.
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/utils/pybind.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fd_native_api.h"

namespace {

const fdn_api *api = nullptr;
constexpr int kIdentity = 0, kRelu = 1;

// (a layer without bias passes an empty tensor: autograd's C++ Functions
// take no undefined inputs)
void *ptr(const at::Tensor &t)
{ return t.numel() ? t.data_ptr() : nullptr; }

// create_graph=True: the step's backward through the custom operator of
// _dense_ops.py / _mlp_ops.py (its arguments in st), whose own backward
// raises the clear double-backward error; returns its outputs
std::vector<c10::IValue> call_op(const char *name, torch::jit::Stack st)
{
    c10::Dispatcher::singleton().findSchemaOrThrow(name, "").callBoxed(&st);
    return st;
}

at::Tensor bytes(int64_t n, const at::Tensor &like)
{ return at::empty({n + 64}, like.options().dtype(at::kByte)); }


struct Mlp2 : public torch::autograd::Function<Mlp2> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x,
                              const at::Tensor &W0, const at::Tensor &b0, const at::Tensor &W1,
                              const at::Tensor &b1, int64_t isa, int64_t nthreads, int64_t tile)
    {
        const int64_t m = x.size(0), k = x.size(1), n = W0.size(0), cn = W1.size(0);
        const int dt = x.scalar_type() == at::kDouble ? 1 : 0;
        const fdn_ctx c{(int)isa, (int)nthreads, (int)tile};
        // W0 (n, k) in either order is the (k, n) matrix the kernels read
        const int64_t w0_rs = W0.stride(1), w0_cs = W0.stride(0);
        auto y = at::empty({m, n}, x.options()), out = at::empty({m, cn}, x.options());
        at::Tensor scratch;
        int sparse = 0, rc = 0;
        // (the first-row rule before the scratch is made, as the binding)
        if (m > 0 && api->sparse_may(dt, k, x.data_ptr()))
            scratch = bytes((int64_t)api->sparse_bytes(dt, m, k, n), x);
        {
            pybind11::gil_scoped_release nogil;
            if (scratch.defined())
                sparse =
                    api->sparse_forward(c, dt, m, k, n, x.data_ptr(), W0.data_ptr(), w0_rs, w0_cs,
                                        ptr(b0), kRelu, y.data_ptr(), scratch.data_ptr());
            size_t wb = api->dense_work_bytes(c, dt, 0, m, n, cn);
            if (!sparse) wb = std::max(wb, api->dense_work_bytes(c, dt, 0, m, k, n));
            auto work = bytes((int64_t)wb, x);
            if (!sparse)
                rc = api->dense_forward(c, dt, m, k, n, x.data_ptr(), W0.data_ptr(), w0_rs, w0_cs,
                                        ptr(b0), kRelu, y.data_ptr(), work.data_ptr());
            if (rc == 0)
                rc = api->dense_forward(c, dt, m, n, cn, y.data_ptr(), W1.data_ptr(), W1.stride(1),
                                        W1.stride(0), ptr(b1), kIdentity, out.data_ptr(),
                                        work.data_ptr());
        }
        TORCH_CHECK(rc == 0, "fastdigits: out of memory in the MLP's forward pass");
        // What backward reads, saved (in-place changes raise, as for
        // nn.Linear) and freed with the graph's saved tensors
        ctx->save_for_backward({x, W0, W1, y, sparse ? scratch : at::Tensor()});
        ctx->saved_data["ctx"] = std::vector<int64_t>{isa, nthreads, tile};
        ctx->saved_data["bias"] = b0.numel() > 0;
        return out;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto s = ctx->get_saved_variables();
        const at::Tensor &x = s[0], &W0 = s[1], &W1 = s[2], &y = s[3], &scratch = s[4];
        const bool has_bias = ctx->saved_data["bias"].toBool();
        const at::Tensor dn = grads[0].contiguous();
        at::Tensor none;
        if (c10::GradMode::is_enabled()) {
            const auto r =
                call_op("fastdigits::mlp_backward",
                        {dn, x, std::vector<at::Tensor>{W0, W1}, std::vector<at::Tensor>{y},
                         std::string("relu"), false, has_bias, std::string("float32")})[0]
                    .toTensorVector(); // dx (empty), dW0, (db0,) dW1, (db1)
            if (has_bias) return {none, r[1], r[2], r[3], r[4], none, none, none};
            return {none, r[1], none, r[2], none, none, none, none};
        }
        const auto cv = ctx->saved_data["ctx"].toIntVector();
        const fdn_ctx c{(int)cv[0], (int)cv[1], (int)cv[2]};
        const int64_t m = y.size(0), n = y.size(1), k = x.size(1), cn = W1.size(0);
        const int dt = x.scalar_type() == at::kDouble ? 1 : 0;
        // the gradients in the weights' layouts (the (k, n) matrices the
        // kernels write through the strides swapped)
        auto dW0 = at::empty_like(W0), db0 = at::empty({n}, y.options());
        auto dW1 = at::empty_like(W1), db1 = at::empty({cn}, y.options());
        int rc;
        if (scratch.defined()) {
            rc = api->sparse_backward(
                c, dt, m, k, n, dn.data_ptr(), cn, W1.data_ptr(), W1.stride(1), W1.stride(0),
                dW1.data_ptr(), dW1.stride(1), dW1.stride(0), db1.data_ptr(), y.data_ptr(),
                dW0.data_ptr(), dW0.stride(1), dW0.stride(0), db0.data_ptr(), scratch.data_ptr());
        } else { // the dense products (a batch too dense for the sparse one)
            auto dh = at::empty({m, n}, y.options());
            auto work = bytes((int64_t)std::max(api->dense_work_bytes(c, dt, 1, m, n, cn),
                                                api->dense_work_bytes(c, dt, 1, m, k, n)),
                              y);
            rc = api->dense_backward(c, dt, m, n, cn, dn.data_ptr(), y.data_ptr(), W1.data_ptr(),
                                     W1.stride(1), W1.stride(0), nullptr, kIdentity, dh.data_ptr(),
                                     dW1.data_ptr(), dW1.stride(1), dW1.stride(0), db1.data_ptr(),
                                     work.data_ptr());
            if (rc == 0)
                rc = api->dense_backward(c, dt, m, k, n, dh.data_ptr(), x.data_ptr(), W0.data_ptr(),
                                         W0.stride(1), W0.stride(0), y.data_ptr(), kRelu, nullptr,
                                         dW0.data_ptr(), dW0.stride(1), dW0.stride(0),
                                         db0.data_ptr(), work.data_ptr());
        }
        TORCH_CHECK(rc == 0, "fastdigits: the MLP's backward pass failed (out of memory)");
        return {none, dW0, has_bias ? db0 : none, dW1, has_bias ? db1 : none, none, none, none};
    }
};

// fastdigits::linear: a Linear layer (identity or relu, float32 precision)
// as one native autograd node: the sparse product where its input needs
// no gradient (the Python Function's
// rule, _dense_ops._sparse_ok), the dense kernels otherwise.  It saves
// what _DenseFunction saves: x where the weight's gradient reads it, the
// weight where dx does, y where relu' does, the sparse scratch.
struct Dense : public torch::autograd::Function<Dense> {
    static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x,
                              const at::Tensor &W, const at::Tensor &b, int64_t act, int64_t isa,
                              int64_t nthreads, int64_t tile)
    {
        const int64_t m = x.size(0), k = x.size(1), n = W.size(0);
        const int dt = x.scalar_type() == at::kDouble ? 1 : 0;
        const fdn_ctx c{(int)isa, (int)nthreads, (int)tile};
        const bool need_dx = x.requires_grad(), need_dw = W.requires_grad();
        // W (n, k) in either order is the (k, n) matrix the kernels read
        const int64_t w_rs = W.stride(1), w_cs = W.stride(0);
        auto y = at::empty({m, n}, x.options());
        at::Tensor scratch;
        int sparse = 0, rc = 0;
        if (!need_dx && m > 0 && api->sparse_may(dt, k, x.data_ptr()))
            scratch = bytes((int64_t)api->sparse_bytes(dt, m, k, n), x);
        {
            pybind11::gil_scoped_release nogil;
            if (scratch.defined())
                sparse = api->sparse_forward(c, dt, m, k, n, x.data_ptr(), W.data_ptr(), w_rs, w_cs,
                                             ptr(b), (int)act, y.data_ptr(), scratch.data_ptr());
            if (!sparse) {
                auto work = bytes((int64_t)api->dense_work_bytes(c, dt, 0, m, k, n), x);
                rc = api->dense_forward(c, dt, m, k, n, x.data_ptr(), W.data_ptr(), w_rs, w_cs,
                                        ptr(b), (int)act, y.data_ptr(), work.data_ptr());
            }
        }
        TORCH_CHECK(rc == 0, "fastdigits: out of memory in the Linear layer's forward pass");
        ctx->save_for_backward({need_dw ? x : at::Tensor(), need_dx ? W : at::Tensor(),
                                act == kRelu ? y : at::Tensor(), sparse ? scratch : at::Tensor()});
        // what is not saved, for the create_graph path (as ctx.inputs)
        if (!need_dw) ctx->saved_data["x"] = x;
        if (!need_dx) ctx->saved_data["W"] = W;
        ctx->saved_data["ctx"] = std::vector<int64_t>{isa, nthreads, tile, act};
        ctx->saved_data["bias"] = b.numel() > 0;
        return y;
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto s = ctx->get_saved_variables();
        const at::Tensor x = s[0].defined() ? s[0] : ctx->saved_data["x"].toTensor();
        const at::Tensor W = s[1].defined() ? s[1] : ctx->saved_data["W"].toTensor();
        const at::Tensor &y = s[2], &scratch = s[3];
        const auto cv = ctx->saved_data["ctx"].toIntVector();
        const int act = (int)cv[3];
        const bool has_bias = ctx->saved_data["bias"].toBool();
        const bool need_dx = ctx->needs_input_grad(0);
        const at::Tensor dy = grads[0].contiguous();
        at::Tensor none;
        if (c10::GradMode::is_enabled()) {
            const auto st = call_op("fastdigits::dense_backward",
                                    {dy, x, W, y.defined() ? y : x.new_empty({0}),
                                     std::string(act == kRelu ? "relu" : "identity"), need_dx,
                                     std::string("float32")});
            return {need_dx ? st[0].toTensor() : none,
                    st[1].toTensor(),
                    has_bias ? st[2].toTensor() : none,
                    none,
                    none,
                    none,
                    none};
        }
        const fdn_ctx c{(int)cv[0], (int)cv[1], (int)cv[2]};
        const int64_t m = x.size(0), k = x.size(1), n = W.size(0);
        const int dt = x.scalar_type() == at::kDouble ? 1 : 0;
        auto dW = at::empty_like(W), db = at::empty({n}, dy.options()); // (W's layout)
        at::Tensor dx;
        int rc;
        if (scratch.defined()) {
            rc = api->sparse_backward_dy(c, dt, m, k, n, dy.data_ptr(), ptr(y), act, dW.data_ptr(),
                                         W.stride(1), W.stride(0), db.data_ptr(),
                                         scratch.data_ptr());
        } else {
            if (need_dx) dx = at::empty({m, k}, dy.options());
            auto work = bytes((int64_t)api->dense_work_bytes(c, dt, 1, m, k, n), dy);
            rc = api->dense_backward(c, dt, m, k, n, dy.data_ptr(), x.data_ptr(), W.data_ptr(),
                                     W.stride(1), W.stride(0), ptr(y), act, ptr(dx), dW.data_ptr(),
                                     W.stride(1), W.stride(0), db.data_ptr(), work.data_ptr());
        }
        TORCH_CHECK(rc == 0, "fastdigits: the Linear layer's backward pass failed");
        return {dx, dW, has_bias ? db : none, none, none, none, none};
    }
};

void check(bool ok, const char *what)
{ TORCH_CHECK(ok, "fastdigits.torch native operator: ", what); }

// a 2-D tensor stored row- or column-major without gaps
bool dense2(const at::Tensor &w)
{
    return (w.stride(0) == w.size(1) && w.stride(1) == 1) ||
        (w.stride(0) == 1 && w.stride(1) == w.size(0));
}

at::Tensor mlp2(const at::Tensor &x, const at::Tensor &W0, const c10::optional<at::Tensor> &b0,
                const at::Tensor &W1, const c10::optional<at::Tensor> &b1, int64_t isa,
                int64_t nthreads, int64_t tile)
{
    check(api != nullptr, "setup() was not called");
    const auto dt = x.scalar_type();
    check(dt == at::kFloat || dt == at::kDouble, "x must be float32 or float64");
    check(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(),
          "x must be 2-D, C-contiguous, on the CPU");
    const int64_t k = x.size(1), n = W0.size(0), cn = W1.size(0);
    check(W0.dim() == 2 && W0.size(1) == k && dense2(W0), "W0 must be (n, k) row- or column-major");
    check(W1.dim() == 2 && W1.size(1) == n && dense2(W1) && cn >= 1 && cn <= api->sparse_head_max,
          "W1 must be (cn, n) row- or column-major with cn <= SPARSE_HEAD_MAX");
    check(W0.scalar_type() == dt && W1.scalar_type() == dt && W0.device().is_cpu() &&
              W1.device().is_cpu(),
          "weights must be CPU tensors of x's dtype");
    check(b0.has_value() == b1.has_value(), "both layers have a bias or neither");
    if (b0.has_value())
        check(b0->dim() == 1 && b0->size(0) == n && b0->is_contiguous() && b1->dim() == 1 &&
                  b1->size(0) == cn && b1->is_contiguous() && b0->scalar_type() == dt &&
                  b1->scalar_type() == dt && b0->device().is_cpu() && b1->device().is_cpu(),
              "biases must be contiguous CPU vectors of x's dtype");
    check(nthreads >= 1, "nthreads must be >= 1");
    const at::Tensor none = at::empty({0}, x.options());
    return Mlp2::apply(x, W0, b0.value_or(none), W1, b1.value_or(none), isa, nthreads, tile);
}

at::Tensor linear(const at::Tensor &x, const at::Tensor &W, const c10::optional<at::Tensor> &b,
                  int64_t act, int64_t isa, int64_t nthreads, int64_t tile)
{
    check(api != nullptr, "setup() was not called");
    const auto dt = x.scalar_type();
    check(dt == at::kFloat || dt == at::kDouble, "x must be float32 or float64");
    check(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(),
          "x must be 2-D, C-contiguous, on the CPU");
    const int64_t k = x.size(1), n = W.size(0);
    check(W.dim() == 2 && W.size(1) == k && W.scalar_type() == dt && W.device().is_cpu() &&
              dense2(W),
          "W must be an (n, k) row- or column-major CPU tensor of x's dtype");
    if (b.has_value())
        check(b->dim() == 1 && b->size(0) == n && b->is_contiguous() && b->scalar_type() == dt &&
                  b->device().is_cpu(),
              "the bias must be a contiguous CPU vector of x's dtype");
    check(act == kIdentity || act == kRelu, "act must be identity (0) or relu (1)");
    check(nthreads >= 1, "nthreads must be >= 1");
    const at::Tensor none = at::empty({0}, x.options());
    return Dense::apply(x, W, b.value_or(none), act, isa, nthreads, tile);
}

void setup(pybind11::capsule table)
{
    const auto *t =
        static_cast<const fdn_api *>(PyCapsule_GetPointer(table.ptr(), "fastdigits.native_api"));
    if (t == nullptr) throw pybind11::error_already_set();
    TORCH_CHECK(t->version == FDN_API_VERSION, "fastdigits native_api version ", t->version,
                ", this operator was built for ", FDN_API_VERSION);
    api = t;
}

} // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, mod)
{
    mod.def("setup", &setup, "the kernels' table (fastdigits._mlp.native_api())");
    mod.def("mlp2", &mlp2, "the two-layer MLP step's forward (autograd: its backward)");
    mod.def("linear", &linear, "a Linear layer's forward (autograd: its backward)");
}
